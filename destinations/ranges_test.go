package destinations

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

func loadRanges(t testing.TB, f RangeFile) []RangeEntry {
	t.Helper()
	es, err := LoadRangeFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestRangeLongestPrefix(t *testing.T) {
	mk := func(p, svc string, cat Category) RangeEntry {
		e := RangeEntry{Prefix: netip.MustParsePrefix(p), Provider: "t", Service: svc, Category: cat, Priority: 1}
		e.finish()
		return e
	}
	rt := NewRangeTable([]RangeEntry{
		mk("10.0.0.0/8", "wide", CategoryUnknown),
		mk("10.1.0.0/16", "mid", CategoryCDN),
		mk("10.1.2.0/24", "narrow", CategoryCloudStorage),
		mk("10.1.2.3/32", "host", CategoryAIML),
		mk("0.0.0.0/0", "default4", CategoryUnknown),
		mk("2001:db8::/32", "v6wide", CategoryUnknown),
		mk("2001:db8:1::/48", "v6narrow", CategoryCDN),
		mk("2001:db8:1::1/128", "v6host", CategoryAIML),
	})
	tests := []struct{ addr, want string }{
		{"10.9.9.9", "wide"},
		{"10.1.9.9", "mid"},
		{"10.1.2.9", "narrow"},
		{"10.1.2.3", "host"},
		{"11.0.0.1", "default4"},
		{"::ffff:10.1.2.3", "host"}, // v4-mapped is looked up as IPv4
		{"2001:db8:2::1", "v6wide"},
		{"2001:db8:1::2", "v6narrow"},
		{"2001:db8:1::1", "v6host"},
		{"2001:db9::1", ""},
		{"::1", ""},
	}
	for _, tt := range tests {
		e := rt.Lookup(netip.MustParseAddr(tt.addr))
		got := ""
		if e != nil {
			got = e.Service
		}
		if got != tt.want {
			t.Errorf("Lookup(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if e := rt.Lookup(netip.Addr{}); e != nil {
		t.Errorf("zero address matched %v", e.Label)
	}
	a := netip.MustParseAddr("2001:db8:1::1")
	if n := testing.AllocsPerRun(1000, func() { rt.Lookup(a) }); n != 0 {
		t.Errorf("Lookup allocates %v", n)
	}
}

func TestRangeAWSMostSpecificService(t *testing.T) {
	rt := NewRangeTable(loadRanges(t, RangeFile{Path: "testdata/ranges/aws-ip-ranges.json", Format: RangeAWS}))
	tests := []struct {
		addr, label string
		cat         Category
	}{
		{"52.217.1.1", "aws/S3 52.216.0.0/15", CategoryCloudStorage}, // S3 wins over AMAZON on the same prefix
		{"13.33.0.1", "aws/CLOUDFRONT 13.32.0.0/15", CategoryCDN},    // CLOUDFRONT wins over AMAZON
		{"3.1.0.1", "aws/EC2 3.0.0.0/15", CategoryUnknown},           // EC2 wins over AMAZON, says nothing of use
		{"3.5.1.1", "aws/S3 3.5.0.0/19", CategoryCloudStorage},       // longer S3 prefix inside AMAZON /14
		{"3.6.0.1", "aws/AMAZON 3.4.0.0/14", CategoryUnknown},        // only AMAZON covers it
		{"2600:1ffa:1000::5", "aws/S3 2600:1ffa:1000::/40", CategoryCloudStorage},
		{"2600:1f01::1", "aws/AMAZON 2600:1f00::/24", CategoryUnknown},
		{"2600:9000:1000::1", "aws/CLOUDFRONT 2600:9000:1000::/36", CategoryCDN},
	}
	for _, tt := range tests {
		e := rt.Lookup(netip.MustParseAddr(tt.addr))
		if e == nil || e.Label != tt.label || e.Category != tt.cat {
			t.Errorf("Lookup(%s) = %+v, want %s %s", tt.addr, e, tt.label, tt.cat)
		}
	}
	if e := rt.Lookup(netip.MustParseAddr("52.217.1.1")); e.Region != "us-east-1" || e.Vendor != "Amazon Web Services" {
		t.Errorf("region/vendor = %q/%q", e.Region, e.Vendor)
	}
}

func TestRangeGoogleAzure(t *testing.T) {
	rt := NewRangeTable(
		loadRanges(t, RangeFile{Path: "testdata/ranges/google-goog.json", Format: RangeGoogle}),
		loadRanges(t, RangeFile{Path: "testdata/ranges/google-cloud.json", Format: RangeGoogle}),
		loadRanges(t, RangeFile{Path: "testdata/ranges/azure-servicetags.json", Format: RangeAzure}),
	)
	tests := []struct {
		addr, label string
		cat         Category
	}{
		{"8.8.4.4", "google/Google 8.8.4.0/24", CategoryUnknown},
		{"34.80.1.1", "google/Google Cloud 34.80.0.0/15", CategoryUnknown},
		{"34.100.0.1", "google/Google 34.64.0.0/10", CategoryUnknown},
		{"2600:1900:4010::1", "google/Google Cloud 2600:1900:4010::/44", CategoryUnknown},
		{"20.50.1.1", "azure/Storage 20.50.0.0/18", CategoryCloudStorage},
		{"20.50.128.7", "azure/CognitiveServicesFrontend 20.50.128.0/24", CategoryAIML},
		{"20.50.200.1", "azure/AzureCloud 20.50.0.0/16", CategoryUnknown},
		{"13.107.246.10", "azure/AzureFrontDoor 13.107.246.0/24", CategoryCDN},
		{"2603:1020:200::1", "azure/AzureCloud 2603:1020:200::/46", CategoryUnknown},
	}
	for _, tt := range tests {
		e := rt.Lookup(netip.MustParseAddr(tt.addr))
		if e == nil || e.Label != tt.label || e.Category != tt.cat {
			t.Errorf("Lookup(%s) = %+v, want %s %s", tt.addr, e, tt.label, tt.cat)
		}
	}
}

func TestDefaultRanges(t *testing.T) {
	rt := NewRangeTable(DefaultRanges())
	tests := []struct {
		addr string
		cat  Category
		svc  string
	}{
		{"104.16.132.229", CategoryCDN, "Cloudflare"},
		{"2606:4700::6810:84e5", CategoryCDN, "Cloudflare"},
		{"13.224.1.1", CategoryCDN, "CLOUDFRONT"},
		{"2600:9000:2000::1", CategoryCDN, "CLOUDFRONT"},
		{"52.217.100.1", CategoryCloudStorage, "S3"},
		{"3.5.140.1", CategoryCloudStorage, "S3"},
		{"2600:1ffa:1000::1", CategoryCloudStorage, "S3"},
		{"2a05:d050:8000::7", CategoryCloudStorage, "S3"},
	}
	for _, tt := range tests {
		e := rt.Lookup(netip.MustParseAddr(tt.addr))
		if e == nil || e.Category != tt.cat || e.Service != tt.svc {
			t.Errorf("Lookup(%s) = %+v, want %s %s", tt.addr, e, tt.cat, tt.svc)
		}
	}
	if e := rt.Lookup(netip.MustParseAddr("192.0.2.1")); e != nil {
		t.Errorf("TEST-NET-1 matched %s", e.Label)
	}
}

func TestParseRangesErrors(t *testing.T) {
	tests := []struct {
		f    RangeFile
		data string
		want string
	}{
		{RangeFile{Path: "a.json", Format: RangeAWS}, `{"prefixes":[{"ip_prefix":"1.2.3.0/33","service":"S3"}]}`, "a.json: aws ip-ranges entry 0"},
		{RangeFile{Path: "a.json", Format: RangeAWS}, `{`, "a.json: aws ip-ranges"},
		{RangeFile{Path: "g.json", Format: RangeGoogle}, `{"prefixes":[{}]}`, "g.json: google ranges entry 0"},
		{RangeFile{Path: "z.json", Format: RangeAzure}, `{"values":[{"name":"X","properties":{"addressPrefixes":["nope"]}}]}`, "z.json: azure service tag \"X\""},
		{RangeFile{Path: "p.txt", Format: RangePlain, Provider: "x"}, "1.2.3.0/24\n\nbad\n", "p.txt:3:"},
		{RangeFile{Path: "p.txt", Format: RangePlain}, "1.2.3.0/24\n", "needs a provider"},
		{RangeFile{Path: "p.txt", Format: RangePlain, Provider: "x", Category: CategoryThreat}, "", "cannot come from a range file"},
		{RangeFile{Path: "p.txt", Format: "xml"}, "", "unknown range format"},
	}
	for _, tt := range tests {
		_, err := ParseRanges(tt.f, []byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s: err = %v, want %q", tt.f.Path, tt.f.Format, err, tt.want)
		}
	}
}

func TestRangeFilesLoad(t *testing.T) {
	if _, err := LoadRangeFile(RangeFile{Path: "testdata/ranges/missing.json", Format: RangeAWS}); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: err = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
