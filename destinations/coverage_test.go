package destinations

import (
	"net/netip"
	"testing"
)

// Every category must cover the field broadly, not just its best-known
// vendors: these are host names a user would expect classified, in every
// host form the vendors document (path-style, virtual-hosted, regional,
// CDN and accelerate endpoints). A name that falls back to unknown here is
// a gap in the catalog.
func TestCatalogCoverage(t *testing.T) {
	c := defaultCatalog(t)
	want := map[Category][]string{
		CategoryCloudStorage: {
			// second-tier clouds' object storage
			"nyc3.digitaloceanspaces.com", "mybucket.fra1.digitaloceanspaces.com", "mybucket.fra1.cdn.digitaloceanspaces.com",
			"oss-cn-hangzhou.aliyuncs.com", "mybucket.oss-eu-central-1.aliyuncs.com", "oss-accelerate.aliyuncs.com", "mybucket.oss-cn-beijing-internal.aliyuncs.com",
			"objectstorage.us-ashburn-1.oraclecloud.com", "axaxnpcrorw5.objectstorage.eu-frankfurt-1.oci.customer-oci.com",
			"s3.us-south.cloud-object-storage.appdomain.cloud", "mybucket.s3.eu-de.cloud-object-storage.appdomain.cloud", "s3.ams03.objectstorage.softlayer.net",
			"us-east-1.linodeobjects.com", "mybucket.us-east-1.linodeobjects.com",
			"s3.fr-par.scw.cloud", "mybucket.s3.nl-ams.scw.cloud",
			"s3.gra.io.cloud.ovh.net", "mybucket.s3.sbg.perf.cloud.ovh.net", "storage.gra.cloud.ovh.net",
			"fsn1.your-objectstorage.com", "mybucket.nbg1.your-objectstorage.com", "u123456.your-storagebox.de",
			"s3.wasabisys.com", "s3.eu-central-1.wasabisys.com", "mybucket.s3.us-east-2.wasabisys.com",
			"s3.us-west-004.backblazeb2.com", "mybucket.s3.eu-central-003.backblazeb2.com", "f004.backblazeb2.com", "api.backblazeb2.com", "pod-000-1118-16.backblaze.com",
			"mybucket-1250000000.cos.ap-guangzhou.myqcloud.com", "obs.cn-north-4.myhuaweicloud.com",
			"ewr1.vultrobjects.com", "sos-ch-gva-2.exo.io", "eu2.contabostorage.com", "storage.yandexcloud.net",
			"gateway.storjshare.io", "s3.filebase.com", "v1g8.la.idrivee2-41.com", "pub-0123456789abcdef.r2.dev",
			// hyperscalers and file sharing
			"mybucket.s3.us-east-1.amazonaws.com", "storage.googleapis.com", "acct.blob.core.windows.net",
			"dl.dropboxusercontent.com", "upload.box.com", "file.io", "store1.gofile.io", "files.catbox.moe", "drive.proton.me",
		},
		CategoryCDN: {
			"res.cloudinary.com", "assets.imgix.net", "ik.imagekit.io", "ucarecdn.com", "imagedelivery.net",
			"demo.sirv.com", "demo.twic.pics", "demo.gumlet.io", "token.cloudimg.io",
			"global.ssl.fastly.net", "a1.akamaized.net", "d111111abcdef8.cloudfront.net", "cdn.jsdelivr.net",
		},
		CategoryAIML: {
			"api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com", "api.mistral.ai",
			"api.ai21.com", "api.moonshot.ai", "open.bigmodel.cn", "api.minimax.io", "qianfan.baidubce.com",
			"api.sambanova.ai", "api.deepinfra.com", "api.novita.ai", "api.studio.nebius.com", "api.voyageai.com",
			"api.jina.ai", "api.assemblyai.com", "api.deepgram.com", "api-free.deepl.com", "api.dev.runwayml.com",
			"my-index-abc123.svc.us-east1-gcp.pinecone.io", "cluster.weaviate.cloud", "api.wandb.ai", "api.smith.langchain.com",
			"user--app.modal.run", "model-abc.api.baseten.co", "api.clarifai.com",
		},
		CategorySaaS: {
			"www.zohoapis.eu", "acme.freshdesk.com", "api-iam.intercom.io", "api.smartsheet.com", "api.clickup.com",
			"api.linear.app", "www.canva.com", "api.twilio.com", "api.sendgrid.com", "us21.api.mailchimp.com",
			"api.stripe.com", "api-m.paypal.com", "acme.myshopify.com", "hooks.zapier.com", "hook.eu1.make.com",
			"eo1abc.m.pipedream.net", "webhook.site", "abcd-1-2-3-4.ngrok-free.app", "random-words.trycloudflare.com",
			"myapp.herokuapp.com", "myapp.vercel.app", "myapp.netlify.app", "myapp.onrender.com", "myapp.fly.dev",
			"abcdefgh.supabase.co", "myapp-default-rtdb.firebaseio.com", "cluster0.abcde.mongodb.net",
			"acme.snowflakecomputing.com", "adb-123.4.azuredatabricks.net", "acme.bamboohr.com", "boards-api.greenhouse.io",
		},
		CategoryAnalytics: {
			"acme.sc.omtrdc.net", "dpm.demdex.net", "acme.matomo.cloud", "plausible.io", "cdn.usefathom.com",
			"app.pendo.io", "sdk.iad-01.braze.com", "api.rudderstack.com", "t.contentsquare.net", "mc.yandex.ru",
			"api2.branch.io", "launches.appsflyer.com", "app.adjust.com", "app-measurement.com",
			"http-inputs-acme.splunkcloud.com", "acme.es.us-east-1.aws.found.io", "api.honeycomb.io",
			"sessions.bugsnag.com", "api.rollbar.com", "abc123.live.dynatrace.com", "logs-prod-006.grafana.net",
		},
	}
	for cat, hosts := range want {
		for _, h := range hosts {
			e, _ := c.Match(h)
			switch {
			case e == nil:
				t.Errorf("%s: unknown, want %s", h, cat)
			case e.Category != cat:
				t.Errorf("%s: %s (via %s), want %s", h, e.Category, e.Pattern, cat)
			}
		}
	}

	// Breadth: each category is served by many vendors, each with a ref.
	vendors := map[Category]map[string]bool{}
	for _, e := range c.Entries() {
		if vendors[e.Category] == nil {
			vendors[e.Category] = map[string]bool{}
		}
		vendors[e.Category][e.Vendor] = true
	}
	minVendors := map[Category]int{
		CategoryAIML: 60, CategoryCloudStorage: 35, CategorySaaS: 60, CategoryAnalytics: 40,
		CategorySocial: 15, CategoryAdvertising: 15, CategoryCDN: 25,
	}
	for cat, n := range minVendors {
		if got := len(vendors[cat]); got < n {
			t.Errorf("category %s: %d vendors, want at least %d", cat, got, n)
		}
	}
}

// Multicast, broadcast, link-local and unspecified addresses never leave
// the local network: they are internal (not unknown), whatever home_net
// says, and so are never first-seen destinations.
func TestLocalScopeIsInternal(t *testing.T) {
	c := testClassifier(t)
	for _, a := range []string{
		"255.255.255.255", "224.0.0.251", "239.255.255.250", "169.254.10.20", "0.0.0.0",
		"ff02::1", "ff02::fb", "ff05::c", "fe80::1", "::",
	} {
		r := c.Classify("", netip.MustParseAddr(a))
		if r.Category != CategoryInternal || !r.Internal {
			t.Errorf("%s: category %s internal=%v, want internal", a, r.Category, r.Internal)
		}
	}
	for _, a := range []string{"8.8.8.8", "2001:4860:4860::8888", "198.51.100.7"} {
		if r := c.Classify("", netip.MustParseAddr(a)); r.Category == CategoryInternal {
			t.Errorf("%s: internal, want not", a)
		}
	}
}
