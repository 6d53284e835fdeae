package report

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
