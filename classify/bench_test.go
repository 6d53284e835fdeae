package classify

import (
	"bytes"
	"regexp"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudflare/ahocorasick"
)

// mixedCorpus is the benchmark input: benign API JSON, access and
// structured logs, CSV, metrics, HTTP headers and base64 payloads, with one
// labelled sensitive value (of any type, with or without context) about
// every 4 KiB.
var mixedCorpus = sync.OnceValue(func() []byte {
	const size = 64 << 20
	ben := benign(99, size)
	samples := buildSamples(77, 200)
	var b bytes.Buffer
	b.Grow(size + size/32)
	k := 0
	for off := 0; off < len(ben) && b.Len() < size; {
		end := min(len(ben), off+4096)
		if nl := bytes.IndexByte(ben[end:], '\n'); nl >= 0 {
			end += nl + 1
		}
		b.Write(ben[off:end])
		b.Write(samples[k%len(samples)].doc)
		b.WriteByte('\n')
		off = end
		k++
	}
	return b.Bytes()
})

func BenchmarkEngine(b *testing.B) {
	e := testEngine(b)
	data := mixedCorpus()
	b.Run("ScanAll", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		n := 0
		cpu := cpuTime()
		for b.Loop() {
			n = 0
			e.ScanAll(data, func(Match) { n++ })
		}
		reportCPU(b, cpu, len(data))
		b.ReportMetric(float64(n), "matches")
	})
	b.Run("Stream1460", func(b *testing.B) {
		sc := e.NewScanner()
		st := sc.NewStream("out")
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		cpu := cpuTime()
		defer reportCPU(b, cpu, len(data))
		for b.Loop() {
			st.Reset()
			st.limit = -1
			for off := 0; off < len(data); off += 1460 {
				st.Write(data[off:min(len(data), off+1460)])
			}
			st.Flush()
		}
	})
}

// BenchmarkNumericJSON scans numericJSON.
func BenchmarkNumericJSON(b *testing.B) {
	e := testEngine(b)
	data := numericJSON()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		e.ScanAll(data, func(Match) {})
	}
	reportCPU(b, cpu, len(data))
}

// naiveDetectors is the baseline: one Go regexp per type, validators run on
// each regexp match, no shared pass, no context gating beyond the regexp.
var naiveDetectors = []struct {
	re    *regexp.Regexp
	check func([]byte) bool
}{
	{regexp.MustCompile(`\b(?:\d[ -]?){11,18}\d\b`), func(m []byte) bool { return cardOK(digitsOnly(m)) }},
	{regexp.MustCompile(`\b\d{3}-\d{2}-\d{4}\b`), func(m []byte) bool { return ssnValid(digitsOnly(m)) }},
	{regexp.MustCompile(`(?i)\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,4})?\b`), func(m []byte) bool { return ibanValid(bytes.ToUpper(bytes.ReplaceAll(m, []byte(" "), nil))) }},
	{regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,24}`), nil},
	{regexp.MustCompile(`(?i)(?:phone|tel|mobile)\W{1,20}\+?[\d\s().-]{10,18}`), nil},
	{regexp.MustCompile(`\b[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}\b`), func(m []byte) bool { return verhoeff(digitsOnly(m)) }},
	{regexp.MustCompile(`\b[A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z]\b`), nil},
	{regexp.MustCompile(`(?i)\bsin\W{1,20}\d{3}[ -]?\d{3}[ -]?\d{3}\b`), nil},
	{regexp.MustCompile(`\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b`), nil},
	{regexp.MustCompile(`\b9\d{2}-[5-9]\d-\d{4}\b`), nil},
	{regexp.MustCompile(`(?i)passport\W{1,20}[A-Z0-9]{8,9}\b`), nil},
	{regexp.MustCompile(`(?i)nhs\W{1,20}\d{3} ?\d{3} ?\d{4}\b`), nil},
	{regexp.MustCompile(`(?i)npi\W{1,20}\d{10}\b`), nil},
	{regexp.MustCompile(`\b[A-Z][A-Z9]\d{7}\b`), func(m []byte) bool { return deaValid(m[2:]) }},
	{regexp.MustCompile(`\b[1-9][A-Z][A-Z0-9]\d-?[A-Z][A-Z0-9]\d-?[A-Z]{2}\d{2}\b`), nil},
	{regexp.MustCompile(`\b[A-TV-Z]\d[0-9AB](?:\.[0-9A-Z]{1,4})?\b`), nil},
	{regexp.MustCompile(`(?i)routing\W{1,20}\d{9}\b`), nil},
	{regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b`), nil},
	{regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36}\b|github_pat_\w{82}`), nil},
	{regexp.MustCompile(`sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}`), nil},
	{regexp.MustCompile(`sk-ant-api03-[A-Za-z0-9_-]{90,}AA`), nil},
	{regexp.MustCompile(`xox[bpars]-[A-Za-z0-9-]{10,}`), nil},
	{regexp.MustCompile(`[sr]k_(?:live|test)_[A-Za-z0-9]{24,}`), nil},
	{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`), nil},
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), nil},
	{regexp.MustCompile(`(?i)(?:api_?key|secret|token)["']?\s*[:=]\s*["']?[A-Za-z0-9_\-+/]{16,}`), nil},
}

// cpuTime returns the process's user+system CPU time. The build machine is
// shared, so wall-clock MB/s understates speed under load; MB per CPU
// second (cpu-MB/s) is what one core achieves.
func cpuTime() time.Duration {
	runtime.GC() // collect setup garbage now, not on the measured clock
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, size int) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return
	}
	if d := time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) - start; d > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/d.Seconds(), "cpu-MB/s")
	}
}

func digitsOnly(m []byte) []byte {
	out := make([]byte, 0, len(m))
	for _, c := range m {
		if isDigit(c) {
			out = append(out, c)
		}
	}
	return out
}

// BenchmarkNaive runs the same corpus through one regexp per type, so the
// engine's speed-up is a ratio measured on one machine in one run.
func BenchmarkNaive(b *testing.B) {
	data := mixedCorpus()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	cpu := cpuTime()
	defer reportCPU(b, cpu, len(data))
	for b.Loop() {
		n = 0
		for _, d := range naiveDetectors {
			for _, loc := range d.re.FindAllIndex(data, -1) {
				if d.check == nil || d.check(data[loc[0]:loc[1]]) {
					n++
				}
			}
		}
	}
	b.ReportMetric(float64(n), "matches")
}

// BenchmarkContext compares the context lookup (two 50-byte windows per
// candidate) with the hand-written first-byte scanner against
// cloudflare/ahocorasick over the same windows.
func BenchmarkContext(b *testing.B) {
	words := builtinContext[USSSN]
	win := []byte(`{"customer":{"id":"8c2f","name":"J. Doe","tax":{"ssn":"`)
	after := []byte(`","dob":"1980-01-01","status":"active","tier":"gold"}`)
	b.Run("handwritten", func(b *testing.B) {
		k := newKwSet(words)
		b.SetBytes(int64(len(win) + len(after)))
		for b.Loop() {
			if !k.find(win) && !k.find(after) {
				b.Fatal("no context")
			}
		}
	})
	b.Run("ahocorasick", func(b *testing.B) {
		m := ahocorasick.NewStringMatcher(words)
		lw := make([]byte, len(win))
		la := make([]byte, len(after))
		b.SetBytes(int64(len(win) + len(after)))
		for b.Loop() {
			// The automaton is case-sensitive and returns no positions, so
			// windows are lower-cased first and word boundaries cannot be
			// checked.
			for i, c := range win {
				lw[i] = lower(c)
			}
			for i, c := range after {
				la[i] = lower(c)
			}
			if len(m.MatchThreadSafe(lw)) == 0 && len(m.MatchThreadSafe(la)) == 0 {
				b.Fatal("no context")
			}
		}
	})
}

// TestNoAllocs proves the common case allocates nothing: scanning a buffer
// without matches one-shot, and a Stream fed TCP-sized segments.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race; allocation counts are meaningless")
	}
	e := testEngine(t)
	data := benign(3, 256<<10)
	hits := 0
	cb := func(Match) { hits++ } // created once: a capturing closure per call would be the caller's allocation
	if n := testing.AllocsPerRun(20, func() { e.ScanAll(data, cb) }); n != 0 {
		t.Errorf("ScanAll: %.1f allocs per buffer", n)
	}
	if hits != 0 {
		t.Errorf("%d matches in benign text", hits)
	}
	sc := e.NewScanner()
	st := sc.NewStream("in")
	feed := func() {
		st.Reset()
		for off := 0; off < len(data); off += 1460 {
			st.Write(data[off:min(len(data), off+1460)])
		}
		st.WriteDecoded(KindJSON, data[:5000])
		st.WriteDecoded(KindForm, data[5000:9000])
		st.Flush()
	}
	feed()
	if n := testing.AllocsPerRun(20, feed); n != 0 {
		t.Errorf("Stream: %.1f allocs per 256 KiB", n)
	}
}

// BenchmarkCalibrate is a reference point for the machine the numbers were
// taken on: one table load and add per byte over the same corpus, the floor
// of any byte-at-a-time scanner. Compare cpu-MB/s across runs with it.
func BenchmarkCalibrate(b *testing.B) {
	data := mixedCorpus()
	b.SetBytes(int64(len(data)))
	cpu := cpuTime()
	n := 0
	for b.Loop() {
		for _, c := range data {
			n += int(cls[c])
		}
	}
	reportCPU(b, cpu, len(data))
	if n == 0 {
		b.Fatal("empty corpus")
	}
}
