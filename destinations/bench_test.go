package destinations

import (
	"net/netip"
	"testing"
)

func BenchmarkCatalogMatch(b *testing.B) {
	c := defaultCatalog(b)
	for _, bc := range []struct{ name, host string }{
		{"exact", "api.openai.com"},
		{"subdomain", "a.b.c.api.openai.com"},
		{"wildcard_s3_virtual", "my-bucket.s3.dualstack.eu-west-1.amazonaws.com"},
		{"glob_vertex", "us-central1-aiplatform.googleapis.com"},
		{"bedrock_fips", "bedrock-runtime-fips.us-gov-west-1.amazonaws.com"},
		{"miss", "www.example.org"},
		{"miss_under_wildcards", "ec2.us-east-1.amazonaws.com"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Match(bc.host)
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, bc := range []struct{ name, host string }{
		{"canonical", "my-bucket.s3.dualstack.eu-west-1.amazonaws.com"},
		{"uppercase_dot", "API.OpenAI.com."},
		{"idn", "münchen.example.de"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Normalize(bc.host)
			}
		})
	}
}

func BenchmarkClassify(b *testing.B) {
	c := testClassifier(b)
	addr := netip.MustParseAddr("104.18.6.192")
	b.Run("name", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Classify("api.openai.com", addr)
		}
	})
	b.Run("addr_only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Classify("", addr)
		}
	})
}

func BenchmarkRangeLookup(b *testing.B) {
	rt := NewRangeTable(DefaultRanges(), loadRanges(b, RangeFile{Path: "testdata/ranges/aws-ip-ranges.json", Format: RangeAWS}))
	for _, bc := range []struct{ name, addr string }{
		{"v4_hit", "52.217.100.1"},
		{"v4_miss", "192.0.2.1"},
		{"v6_hit", "2600:9000:2000::1"},
		{"v6_miss", "2001:db8::1"},
	} {
		a := netip.MustParseAddr(bc.addr)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rt.Lookup(a)
			}
		})
	}
}

func BenchmarkDNSCacheLookup(b *testing.B) {
	c := NewDNSCache(DNSCacheConfig{})
	t0 := int64(1_700_000_000) * sec
	c.Add(clientA, "www.example.com", []netip.Addr{cdnAddr}, 300, t0)
	other := netip.MustParseAddr("10.9.9.9")
	miss := netip.MustParseAddr("192.0.2.99")
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Lookup(clientA, cdnAddr, t0)
		}
	})
	b.Run("fallback", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Lookup(other, cdnAddr, t0)
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Lookup(clientA, miss, t0)
		}
	})
	b.Run("hit_parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Lookup(clientA, cdnAddr, t0)
			}
		})
	})
}
