package destinations

import (
	"os"
	"strings"
	"testing"
)

func defaultCatalog(t testing.TB) *Catalog {
	t.Helper()
	return NewCatalog(DefaultCatalogFile())
}

type matchCase struct {
	name     string
	category Category // "" = no match
	vendor   string
	service  string
}

func checkMatches(t *testing.T, c *Catalog, cases []matchCase) {
	t.Helper()
	for _, tt := range cases {
		n, err := Normalize(tt.name)
		var e *Entry
		if err == nil {
			e, _ = c.Match(n)
		}
		switch {
		case tt.category == "" && e != nil:
			t.Errorf("%s: matched %s (%s), want no match", tt.name, e.Pattern, e.Category)
		case tt.category == "":
		case e == nil:
			t.Errorf("%s: no match, want %s", tt.name, tt.category)
		case e.Category != tt.category || (tt.vendor != "" && e.Vendor != tt.vendor) || (tt.service != "" && e.Service != tt.service):
			t.Errorf("%s: got %s/%s/%s via %s, want %s/%s/%s", tt.name, e.Category, e.Vendor, e.Service, e.Pattern, tt.category, tt.vendor, tt.service)
		}
	}
}

func TestCatalogMostSpecific(t *testing.T) {
	checkMatches(t, defaultCatalog(t), []matchCase{
		{"copilot.microsoft.com", CategoryAIML, "Microsoft", "Microsoft Copilot"},
		{"www.microsoft.com", CategorySaaS, "Microsoft", "Microsoft"},
		{"microsoft.com", CategorySaaS, "Microsoft", "Microsoft"},
		{"generativelanguage.googleapis.com", CategoryAIML, "Google", "Gemini API"},
		{"storage.googleapis.com", CategoryCloudStorage, "Google", "Google Cloud Storage"},
		{"fonts.googleapis.com", CategoryCDN, "Google", "Google static content"},
		{"www.googleapis.com", CategorySaaS, "Google", "Google services"},
		{"api.openai.com", CategoryAIML, "OpenAI", "OpenAI API"},
		{"platform.openai.com", CategoryAIML, "OpenAI", "OpenAI"},
		{"files.oaiusercontent.com", CategoryAIML, "OpenAI", "ChatGPT file uploads"},
		{"chatgpt.com", CategoryAIML, "OpenAI", "ChatGPT"},
		{"api.anthropic.com", CategoryAIML, "Anthropic", "Anthropic API"},
		{"claude.ai", CategoryAIML, "Anthropic", "Claude"},
		{"copilot-proxy.githubusercontent.com", CategoryAIML, "GitHub", "GitHub Copilot"},
		{"raw.githubusercontent.com", CategorySaaS, "GitHub", "GitHub content"},
		{"api.individual.githubcopilot.com", CategoryAIML, "GitHub", "GitHub Copilot"},
		{"github.com", CategorySaaS, "GitHub", "GitHub"},
		{"gateway.ai.cloudflare.com", CategoryAIML, "Cloudflare", "Cloudflare AI Gateway"},
		{"www.cloudflare.com", CategoryCDN, "Cloudflare", "Cloudflare"},
		{"ads.linkedin.com", CategoryAdvertising, "LinkedIn", "LinkedIn Ads"},
		{"www.linkedin.com", CategorySocial, "LinkedIn", "LinkedIn"},
		{"integrate.api.nvidia.com", CategoryAIML, "NVIDIA", ""},
		{"www.nvidia.com", "", "", ""},
		{"drive.google.com", CategoryCloudStorage, "Google", "Google Drive"},
		{"docs.google.com", CategorySaaS, "Google", "Google Workspace"},
		{"www.google-analytics.com", CategoryAnalytics, "Google", "Google Analytics"},
		{"pagead2.googlesyndication.com", CategoryAdvertising, "Google", "Google Ads"},
		{"o123.ingest.us.sentry.io", CategoryAnalytics, "Sentry", ""},
		{"acme.my.salesforce.com", CategorySaaS, "Salesforce", ""},
		{"acme-my.sharepoint.com", CategoryCloudStorage, "Microsoft", ""},
		{"content.dropboxapi.com", CategoryCloudStorage, "Dropbox", ""},
		{"ollama.com", CategoryAIML, "Ollama", ""},
		{"registry.ollama.ai", CategoryAIML, "Ollama", ""},
		{"dashscope-intl.aliyuncs.com", CategoryAIML, "Alibaba Cloud", "DashScope"},
		{"oss-cn-hangzhou.aliyuncs.com", CategoryCloudStorage, "Alibaba Cloud", "Alibaba Cloud OSS"},
		{"ecs.cn-hangzhou.aliyuncs.com", "", "", ""},
	})
}

func TestCatalogSpoofs(t *testing.T) {
	checkMatches(t, defaultCatalog(t), []matchCase{
		{"openai.com.evil.example", "", "", ""},
		{"evil-openai.com", "", "", ""},
		{"openai.co", "", "", ""},
		{"myopenai.com", "", "", ""},
		{"api.openai.com.attacker.net", "", "", ""},
		{"xn--penai-iye.com", "", "", ""}, // Cyrillic о look-alike
		{"оpenai.com", "", "", ""},        // same, in Unicode
		{"xn--penai-dxa.com", "", "", ""}, // malformed punycode: invalid
		{"API.OPENAI.COM.", CategoryAIML, "OpenAI", "OpenAI API"},
		{"api.openai.com.", CategoryAIML, "OpenAI", "OpenAI API"},
		{"s3.amazonaws.com.evil.example", "", "", ""},
		{"blob.core.windows.net", "", "", ""}, // needs an account label
		{"evilblob.core.windows.net", "", "", ""},
		{"openai.azure.com", "", "", ""},
		{"aiplatform.googleapis.com.evil.example", "", "", ""},
		{"-aiplatform.googleapis.com", CategorySaaS, "Google", "Google services"}, // glob needs at least one byte
	})
}

func TestCatalogWildcards(t *testing.T) {
	var cases []matchCase
	for _, region := range []string{"us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1", "ap-south-1", "ca-central-1", "sa-east-1", "us-gov-west-1", "eu-west-3", "me-central-1"} {
		cases = append(cases,
			matchCase{"bedrock-runtime." + region + ".amazonaws.com", CategoryAIML, "Amazon Web Services", "Amazon Bedrock Runtime"},
			matchCase{"bedrock-runtime-fips." + region + ".amazonaws.com", CategoryAIML, "Amazon Web Services", "Amazon Bedrock Runtime"},
			matchCase{"bedrock-agent-runtime." + region + ".amazonaws.com", CategoryAIML, "Amazon Web Services", "Amazon Bedrock Agents"},
			matchCase{"bedrock-agent-runtime-fips." + region + ".amazonaws.com", CategoryAIML, "Amazon Web Services", "Amazon Bedrock Agents"},
			matchCase{"bedrock." + region + ".amazonaws.com", CategoryAIML, "Amazon Web Services", "Amazon Bedrock"},
			matchCase{"bedrock-fips." + region + ".amazonaws.com", CategoryAIML, "Amazon Web Services", "Amazon Bedrock"},
			matchCase{"bedrock-data-automation-runtime." + region + ".amazonaws.com", CategoryAIML, "Amazon Web Services", "Amazon Bedrock"},
			matchCase{"runtime.sagemaker." + region + ".amazonaws.com", CategoryAIML, "Amazon Web Services", "Amazon SageMaker Runtime"},
			matchCase{"runtime-fips.sagemaker." + region + ".amazonaws.com", CategoryAIML, "Amazon Web Services", "Amazon SageMaker Runtime"},
		)
	}
	cases = append(cases,
		matchCase{"bedrock-runtime.amazonaws.com", "", "", ""},
		matchCase{"ec2.us-east-1.amazonaws.com", "", "", ""},
		matchCase{"myres.openai.azure.com", CategoryAIML, "Microsoft Azure", "Azure OpenAI"},
		matchCase{"a.b.openai.azure.com", CategoryAIML, "Microsoft Azure", "Azure OpenAI"},
		matchCase{"myres.cognitiveservices.azure.com", CategoryAIML, "Microsoft Azure", "Azure AI services"},
		matchCase{"myres.services.ai.azure.com", CategoryAIML, "Microsoft Azure", "Azure AI Foundry"},
		matchCase{"dep.eastus2.models.ai.azure.com", CategoryAIML, "Microsoft Azure", "Azure AI Foundry"},
		matchCase{"ep.westeurope.inference.ml.azure.com", CategoryAIML, "Microsoft Azure", "Azure Machine Learning"},
		matchCase{"us-central1-aiplatform.googleapis.com", CategoryAIML, "Google", "Vertex AI"},
		matchCase{"europe-west4-aiplatform.googleapis.com", CategoryAIML, "Google", "Vertex AI"},
		matchCase{"aiplatform.googleapis.com", CategoryAIML, "Google", "Vertex AI"},
		matchCase{"xyz.us-east-1.aws.endpoints.huggingface.cloud", CategoryAIML, "Hugging Face", "Hugging Face Inference Endpoints"},
		matchCase{"user-space.hf.space", CategoryAIML, "Hugging Face", "Hugging Face Spaces"},
		matchCase{"acct.blob.core.windows.net", CategoryCloudStorage, "Microsoft Azure", "Azure Blob Storage"},
		matchCase{"acct.dfs.core.windows.net", CategoryCloudStorage, "Microsoft Azure", "Azure Data Lake Storage"},
		matchCase{"acct.file.core.windows.net", CategoryCloudStorage, "Microsoft Azure", "Azure Files"},
		matchCase{"acct.z13.blob.storage.azure.net", CategoryCloudStorage, "Microsoft Azure", "Azure Blob Storage"},
		matchCase{"0123abcd.r2.cloudflarestorage.com", CategoryCloudStorage, "Cloudflare", "Cloudflare R2"},
		matchCase{"pub-0123.r2.dev", CategoryCloudStorage, "Cloudflare", "Cloudflare R2"},
		matchCase{"mybucket.storage.googleapis.com", CategoryCloudStorage, "Google", "Google Cloud Storage"},
		matchCase{"storage.cloud.google.com", CategoryCloudStorage, "Google", "Google Cloud Storage"},
	)
	checkMatches(t, defaultCatalog(t), cases)
}

// One row per S3 host form (S3 User Guide and AWS General Reference).
func TestCatalogS3Forms(t *testing.T) {
	s3 := func(name string) matchCase {
		return matchCase{name, CategoryCloudStorage, "Amazon Web Services", "Amazon S3"}
	}
	checkMatches(t, defaultCatalog(t), []matchCase{
		s3("s3.amazonaws.com"),                                                    // global endpoint, path style
		s3("mybucket.s3.amazonaws.com"),                                           // legacy global virtual-hosted
		s3("s3.us-west-2.amazonaws.com"),                                          // regional path style
		s3("mybucket.s3.us-west-2.amazonaws.com"),                                 // regional virtual-hosted
		s3("my.dotted.bucket.s3.eu-west-1.amazonaws.com"),                         // dotted bucket name
		s3("s3.dualstack.us-east-1.amazonaws.com"),                                // dual-stack path style
		s3("mybucket.s3.dualstack.ap-southeast-2.amazonaws.com"),                  // dual-stack virtual-hosted
		s3("myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com"),            // access point
		s3("myap-123456789012.s3-accesspoint.dualstack.us-west-2.amazonaws.com"),  // dual-stack access point
		s3("myap-123456789012.s3-accesspoint-fips.us-gov-west-1.amazonaws.com"),   // FIPS access point
		s3("mybucket.s3-accelerate.amazonaws.com"),                                // Transfer Acceleration
		s3("mybucket.s3-accelerate.dualstack.amazonaws.com"),                      // Transfer Acceleration dual-stack
		s3("s3-fips.us-east-1.amazonaws.com"),                                     // FIPS
		s3("mybucket.s3-fips.dualstack.us-east-2.amazonaws.com"),                  // FIPS dual-stack
		s3("s3express-control.us-west-2.amazonaws.com"),                           // S3 Express regional
		s3("mybucket--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com"), // S3 Express zonal
		s3("mybucket.s3-website-us-east-1.amazonaws.com"),                         // website, dash form
		s3("mybucket.s3-website.eu-central-1.amazonaws.com"),                      // website, dot form
		s3("s3-us-west-2.amazonaws.com"),                                          // legacy dash-region
		s3("s3-external-1.amazonaws.com"),                                         // legacy us-east-1 external
		s3("mybucket.s3.cn-north-1.amazonaws.com.cn"),                             // China
		s3("s3.dualstack.cn-northwest-1.amazonaws.com.cn"),                        // China dual-stack
		s3("mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"),              // Multi-Region Access Point
		s3("123456789012.s3-control.us-east-1.amazonaws.com"),                     // S3 Control
		s3("myap-123456789012.s3-object-lambda.us-east-1.amazonaws.com"),          // Object Lambda access point
		{"s3.evil.example", "", "", ""},
		{"mys3.us-east-1.amazonaws.com", "", "", ""},
	})
}

func TestCatalogOverride(t *testing.T) {
	def := DefaultCatalogFile()
	data, err := os.ReadFile("testdata/catalog/user.yaml")
	if err != nil {
		t.Fatal(err)
	}
	user, err := ParseCatalog("testdata/catalog/user.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCatalog(def, user)
	checkMatches(t, c, []matchCase{
		{"api.openai.com", CategoryAIML, "OpenAI", "OpenAI API (approved tenant)"},
		{"chatgpt.com", CategoryAIML, "OpenAI", "ChatGPT"},
		{"crm.example.com", CategorySaaS, "Example Corp", "Example CRM"},
		{"acme.tenants.example.net", CategorySaaS, "Example Corp", "Example CRM"},
	})
	e, _ := c.Match("api.openai.com")
	if e.Source != "testdata/catalog/user.yaml:13" {
		t.Errorf("source = %q, want testdata/catalog/user.yaml:13", e.Source)
	}
	for _, e := range c.Entries() {
		if e.Pattern == "api.openai.com" && e.Service == "OpenAI API" {
			t.Errorf("replaced entry still listed: %+v", e)
		}
	}
}

func TestParseCatalogErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"syntax", "vendors: [", "f.yaml: yaml:"},
		{"unknown top key", "vendors: []\nextra: 1\n", "f.yaml:2: catalog: unknown key \"extra\""},
		{"unknown vendor key", "vendors:\n  - vendor: V\n    colour: red\n", "f.yaml:3: vendor: unknown key \"colour\""},
		{"unknown service key", "vendors:\n  - vendor: V\n    category: saas\n    services:\n      - service: S\n        host: [a.com]\n", "f.yaml:6: service: unknown key \"host\""},
		{"bad category", "vendors:\n  - vendor: V\n    category: shopping\n", "f.yaml:3: category \"shopping\""},
		{"threat not allowed", "vendors:\n  - vendor: V\n    category: threat\n", "f.yaml:3: category \"threat\""},
		{"no category", "vendors:\n  - vendor: V\n    services:\n      - service: S\n        hosts: [a.com]\n", "f.yaml:4: service \"S\": no category"},
		{"wildcard tld", "vendors:\n  - vendor: V\n    category: saas\n    services:\n      - service: S\n        hosts:\n          - \"example.*\"\n", "f.yaml:7: pattern \"example.*\": the rightmost label"},
		{"two stars", "vendors:\n  - vendor: V\n    category: saas\n    services:\n      - service: S\n        hosts: [\"a*b*.example.com\"]\n", "f.yaml:6: pattern \"a*b*.example.com\": label glob"},
		{"bad label", "vendors:\n  - vendor: V\n    category: saas\n    services:\n      - service: S\n        hosts: [\"a b.example.com\"]\n", "f.yaml:6: pattern \"a b.example.com\""},
		{"duplicate", "vendors:\n  - vendor: V\n    category: saas\n    services:\n      - service: S\n        hosts: [a.com, A.com.]\n", "f.yaml:6: pattern \"a.com\" already listed at line 6"},
		{"hosts not list", "vendors:\n  - vendor: V\n    category: saas\n    services:\n      - service: S\n        hosts: a.com\n", "f.yaml:6: service \"S\": hosts must be a non-empty list"},
		{"vendors not list", "vendors: {a: 1}\n", "f.yaml:1: vendors must be a list"},
		{"missing vendor", "vendors:\n  - category: saas\n    services: []\n", "f.yaml:2: vendor: missing key \"vendor\""},
		{"null host", "vendors:\n  - vendor: V\n    category: saas\n    services:\n      - service: S\n        hosts: [~]\n", "f.yaml:6: host pattern must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCatalog("f.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDefaultCatalogWellFormed(t *testing.T) {
	c := defaultCatalog(t)
	seen := map[Category]int{}
	for _, e := range c.Entries() {
		seen[e.Category]++
		if e.Ref == "" {
			t.Errorf("%s (%s): no ref", e.Pattern, e.Source)
		}
	}
	for _, cat := range []Category{CategoryAIML, CategoryCloudStorage, CategorySaaS, CategoryAnalytics, CategorySocial, CategoryAdvertising, CategoryCDN} {
		if seen[cat] < 10 {
			t.Errorf("category %s has only %d entries", cat, seen[cat])
		}
	}
}

func TestCatalogMatchDoesNotAllocate(t *testing.T) {
	c := defaultCatalog(t)
	for _, name := range []string{"api.openai.com", "mybucket.s3.dualstack.eu-west-1.amazonaws.com", "us-central1-aiplatform.googleapis.com", "nothing.example.org"} {
		if n := testing.AllocsPerRun(1000, func() { c.Match(name) }); n != 0 {
			t.Errorf("Match(%q) allocates %v", name, n)
		}
	}
}
