package report

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"html"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/internal/testenv"
)

var shot = flag.String("shot", "", "also write the browser screenshot to `FILE` (for the README: ../docs/report.png)")

const chromium = "/usr/bin/chromium"

// chromiumArgs runs a headless browser with nothing that could reach the
// network or a profile, as the brief for the test asks.
func chromiumArgs(profile string, extra ...string) []string {
	return append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + profile}, extra...)
}

// TestBrowserRendersReport renders a realistic report in headless Chromium:
// the screenshot must be a real picture (not blank), and the DOM after the
// script ran must hold every section, the charts' bars, and the mark the
// script sets (proving the Content-Security-Policy hash admits it).
func TestBrowserRendersReport(t *testing.T) {
	testenv.Slow(t)
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s not found (apt-get install -y chromium): skipping the browser check", chromium)
	}
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	var page bytes.Buffer
	r := New(Options{})
	if err := r.ReadInput("sensor-dc1/2026-11-02.jsonl.zst", strings.NewReader(strings.Join(lines(genRecords(3000)), "\n"))); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(html, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + html

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pngPath := filepath.Join(dir, "out.png")
	cmd := exec.CommandContext(ctx, chromium, chromiumArgs(filepath.Join(dir, "p1"), "--screenshot="+pngPath, "--window-size=1280,2000", url)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	img := checkScreenshot(t, pngPath)

	cmd = exec.CommandContext(ctx, chromium, chromiumArgs(filepath.Join(dir, "p2"), "--dump-dom", url)...)
	var dom, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &dom, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	d := dom.String()
	for _, want := range []string{`id="totals"`, `id="by-category"`, `id="by-domain"`, `id="sources"`, `id="findings"`, `id="alerts"`, `id="first-seen"`,
		`id="volume"`, `id="inputs"`, `data-js="ok"`, "api.openai.com", "egress-to-threat-ioc", "us_ssn", "collect.shady-uploads.example"} {
		if !strings.Contains(d, want) {
			t.Errorf("rendered DOM lacks %s", want)
		}
	}
	if n := strings.Count(d, "<rect "); n < 100 {
		t.Errorf("rendered DOM has %d chart bars, want at least 100", n)
	}
	for _, raw := range plantedRaw {
		if strings.Contains(d, raw) {
			t.Errorf("rendered DOM contains planted raw value %q", raw)
		}
	}

	if *shot != "" {
		f, err := os.Create(*shot)
		if err != nil {
			t.Fatal(err)
		}
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(f, quantize(img)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkScreenshot decodes the PNG and checks it has the window's size and
// enough contrast and colours to be a rendered page, not a blank or an
// error page.
func checkScreenshot(t *testing.T, path string) image.Image {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if st.Size() < 50<<10 {
		t.Errorf("screenshot is %d bytes; a rendered report is far larger", st.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != 1280 || b.Dy() != 2000 {
		t.Errorf("screenshot %dx%d, want 1280x2000", b.Dx(), b.Dy())
	}
	var sum, sq float64
	colors := map[uint32]struct{}{}
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 65535
			sum += l
			sq += l * l
			n++
			if len(colors) < 1000 {
				colors[(r>>11)<<10|(g>>11)<<5|bl>>11] = struct{}{}
			}
		}
	}
	mean := sum / float64(n)
	std := math.Sqrt(sq/float64(n) - mean*mean)
	if std < 0.08 || len(colors) < 40 {
		t.Errorf("screenshot looks blank: luminance std %.3f, %d colours", std, len(colors))
	}
	t.Logf("screenshot %dx%d, %d bytes, luminance mean %.2f std %.3f, %d+ colours", b.Dx(), b.Dy(), st.Size(), mean, std, len(colors))
	return img
}

// quantize maps img to its 256 most frequent colours, so the committed
// screenshot stays small (a page is mostly flat colour; only text edges
// lose a little).
func quantize(img image.Image) *image.Paletted {
	freq := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			freq[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	cs := make([]color.RGBA, 0, len(freq))
	for c := range freq {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b color.RGBA) int {
		if c := cmp.Compare(freq[b], freq[a]); c != 0 {
			return c
		}
		return cmp.Compare(uint32(a.R)<<16|uint32(a.G)<<8|uint32(a.B), uint32(b.R)<<16|uint32(b.G)<<8|uint32(b.B))
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range cs[:min(len(cs), 256)] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(b, pal)
	draw.Draw(out, b, img, b.Min, draw.Src)
	return out
}

// interactScript drives the page the way an analyst would — switch every
// tab, filter the alerts table by rule, category, source and destination,
// sort it by two columns — and writes what it saw as JSON into #test-out
// for the Go side to check. It runs after the page's own script, through
// the page's real event handlers.
const interactScript = `(function(){var d=document,res={};
function views(){return Array.from(d.querySelectorAll("div.view")).filter(function(v){return !v.hidden&&v.offsetParent!==null}).map(function(v){return v.dataset.view})}
function tab(n){d.querySelector('nav.tabs button[data-tab="'+n+'"]').click();return views()}
res.initial=views();res.tabs={};["alerts","engineer","compliance","ciso","overview"].forEach(function(n){res.tabs[n]=tab(n)});
res.hash=location.hash;tab("alerts");
function rows(){return Array.from(d.querySelectorAll("#alert-table tbody tr")).filter(function(r){return !r.hidden&&r.offsetParent!==null}).map(function(r){return {rule:r.cells[1].textContent,sev:r.cells[2].dataset.v,src:r.cells[3].textContent,dst:r.cells[4].textContent,cat:r.cells[5].textContent,t:r.cells[0].dataset.v}})}
function set(id,v){var e=d.getElementById(id);e.value=v;e.dispatchEvent(new Event(e.tagName==="SELECT"?"change":"input"));return {rows:rows(),shown:d.getElementById("alert-shown").textContent}}
res.all=rows();
res.rule=set("f-rule","egress-to-threat-ioc");
res.ruleCat=set("f-cat","threat");
res.ruleOtherCat=set("f-cat","saas");
set("f-rule","");res.cat=set("f-cat","ai_ml");
res.catSrc=set("f-src","DATA-science");
set("f-cat","");res.src=set("f-src","10.20.3.57");
set("f-src","");res.dst=set("f-dst","openai");
set("f-dst","");
var th=d.querySelectorAll("#alert-table thead th");
th[2].click();res.sevAsc=rows();th[2].click();res.sevDesc=rows();
th[0].click();res.timeAsc=rows();th[0].click();res.timeDesc=rows();
var o=d.createElement("pre");o.id="test-out";o.textContent=JSON.stringify(res);d.body.appendChild(o)})();`

type alertRowSeen struct{ Rule, Sev, Src, Dst, Cat, T string }

type filterSeen struct {
	Rows  []alertRowSeen
	Shown string
}

type interaction struct {
	Initial                     []string
	Tabs                        map[string][]string
	Hash                        string
	All                         []alertRowSeen
	Rule, RuleCat, RuleOtherCat filterSeen
	Cat, CatSrc, Src, Dst       filterSeen
	SevAsc, SevDesc             []alertRowSeen
	TimeAsc, TimeDesc           []alertRowSeen
}

// TestBrowserInteracts switches the tabs, filters and sorts the alerts
// table in headless Chromium and checks what the page shows at each step,
// and that no planted raw value reaches the DOM. The driving script is
// added to a copy of the page with its own hash in the policy, so the
// page's policy still admits nothing else.
func TestBrowserInteracts(t *testing.T) {
	testenv.Slow(t)
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s not found (apt-get install -y chromium): skipping the browser check", chromium)
	}
	var page bytes.Buffer
	r := New(Options{})
	if err := r.ReadInput("day.jsonl", strings.NewReader(strings.Join(lines(genRecords(3000)), "\n"))); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(interactScript))
	pin := "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	p := page.String()
	const policy = "script-src &#39;sha256-" // as html/template writes it in the meta tag
	if !strings.Contains(p, policy) || strings.Count(p, "</body>") != 1 {
		t.Fatal("page has no pinned script policy or no single </body>")
	}
	p = strings.Replace(p, policy, "script-src "+html.EscapeString(pin)+" &#39;sha256-", 1)
	p = strings.Replace(p, "</body>", "<script>"+interactScript+"</script></body>", 1)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, chromiumArgs(filepath.Join(dir, "p"), "--dump-dom", "file://"+file+"#compliance")...)
	var dom, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &dom, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	d := dom.String()
	for _, raw := range plantedRaw {
		if strings.Contains(d, raw) {
			t.Errorf("DOM contains planted raw value %q", raw)
		}
	}
	i := strings.Index(d, `<pre id="test-out">`)
	if i < 0 {
		t.Fatalf("the driving script did not run (CSP or error); DOM tail:\n%s", d[max(0, len(d)-2000):])
	}
	body := d[i+len(`<pre id="test-out">`):]
	body = html.UnescapeString(body[:strings.Index(body, "</pre>")])
	var got interaction
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}

	// Tabs: the fragment opens a view; each tab shows exactly its view.
	if strings.Join(got.Initial, ",") != "compliance" {
		t.Errorf("#compliance opened %v", got.Initial)
	}
	for _, v := range []string{"alerts", "engineer", "compliance", "ciso", "overview"} {
		if strings.Join(got.Tabs[v], ",") != v {
			t.Errorf("tab %s shows views %v", v, got.Tabs[v])
		}
	}
	if got.Hash != "#overview" {
		t.Errorf("location.hash %q after the overview tab, want #overview", got.Hash)
	}

	// Filters.
	if len(got.All) != len(r.alertRows) || len(got.All) < 50 {
		t.Fatalf("%d rows shown unfiltered, %d listed", len(got.All), len(r.alertRows))
	}
	count := func(f func(alertRowSeen) bool) int {
		n := 0
		for _, a := range got.All {
			if f(a) {
				n++
			}
		}
		return n
	}
	checks := []struct {
		name string
		seen filterSeen
		want func(alertRowSeen) bool
	}{
		{"rule", got.Rule, func(a alertRowSeen) bool { return a.Rule == "egress-to-threat-ioc" }},
		{"rule and category", got.RuleCat, func(a alertRowSeen) bool { return a.Rule == "egress-to-threat-ioc" && a.Cat == "threat" }},
		{"rule and another category", got.RuleOtherCat, func(a alertRowSeen) bool { return a.Rule == "egress-to-threat-ioc" && a.Cat == "saas" }},
		{"category", got.Cat, func(a alertRowSeen) bool { return a.Cat == "ai_ml" }},
		{"category and source", got.CatSrc, func(a alertRowSeen) bool { return a.Cat == "ai_ml" && strings.HasPrefix(a.Src, "data-science-nb") }},
		{"source address", got.Src, func(a alertRowSeen) bool { return strings.Contains(a.Src, "10.20.3.57") }},
		{"destination", got.Dst, func(a alertRowSeen) bool { return strings.Contains(a.Dst, "openai") }},
	}
	for _, c := range checks {
		want := count(c.want)
		if len(c.seen.Rows) != want || c.seen.Shown != strconv.Itoa(want) {
			t.Errorf("filter by %s: %d rows shown, counter says %s, want %d", c.name, len(c.seen.Rows), c.seen.Shown, want)
		}
		for _, a := range c.seen.Rows {
			if !c.want(a) {
				t.Errorf("filter by %s shows %+v", c.name, a)
			}
		}
		if want == 0 && c.name != "rule and another category" {
			t.Errorf("filter by %s: the generated day should have matching alerts", c.name)
		}
	}

	// Sorting: numeric data-v, ascending then descending.
	sorted := func(name string, rows []alertRowSeen, key func(alertRowSeen) string, desc bool) {
		if len(rows) != len(got.All) {
			t.Errorf("%s: %d rows, want %d", name, len(rows), len(got.All))
		}
		for k := 1; k < len(rows); k++ {
			a, _ := strconv.ParseFloat(key(rows[k-1]), 64)
			b, _ := strconv.ParseFloat(key(rows[k]), 64)
			if (!desc && a > b) || (desc && a < b) {
				t.Errorf("%s: row %d (%s) out of order after %s", name, k, key(rows[k]), key(rows[k-1]))
				return
			}
		}
	}
	sev := func(a alertRowSeen) string { return a.Sev }
	tm := func(a alertRowSeen) string { return a.T }
	sorted("severity ascending", got.SevAsc, sev, false)
	sorted("severity descending", got.SevDesc, sev, true)
	sorted("time ascending", got.TimeAsc, tm, false)
	sorted("time descending", got.TimeDesc, tm, true)
	if got.SevAsc[0].Sev != "0" || got.SevDesc[0].Sev == "0" {
		t.Errorf("severity sort: first ascending %s, first descending %s", got.SevAsc[0].Sev, got.SevDesc[0].Sev)
	}
}
