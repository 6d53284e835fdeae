package pipeline

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// BuildClassifier compiles the content detectors: the built-in set and the
// configured custom detectors (also used by `tapdlp scan`).
func BuildClassifier(cfg *config.Config) (*classify.Engine, error) {
	in := cfg.Inspection
	builtin := classify.BuiltinTypes()
	var errs config.Errors
	for i, n := range in.Disable {
		if !slices.Contains(builtin, n) {
			errs = append(errs, cfg.ErrorAt(fmt.Sprintf("inspection.disable[%d]", i), "%q is not a built-in type (%s)", n, strings.Join(builtin, ", ")))
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	c := classify.Config{
		ContextWindow: in.ContextWindow,
		InspectBytes:  int(in.InspectBytes),
		MaxEvidence:   in.MaxEvidence,
		MaxHashes:     in.MaxEvidence,
		MinBase64:     in.MinBase64,
		Disable:       in.Disable,
	}
	if in.InspectBytes == 0 {
		c.InspectBytes = -1 // 0 in the config means "no cap"; the engine reads 0 as its default
	}
	switch {
	case in.HMACKey != "":
		c.HMACKey = []byte(in.HMACKey)
	case in.HMACKeyFile != "":
		k, err := os.ReadFile(in.HMACKeyFile)
		if err != nil {
			return nil, cfg.ErrorAt("inspection.hmac_key_file", "%v", err)
		}
		c.HMACKey = []byte(strings.TrimSpace(string(k)))
	}
	var custom []classify.CustomDetector
	if in.Detectors.Kind != 0 {
		var err error
		if custom, err = classify.ParseCustom(cfg.DetectorsFile(), &in.Detectors); err != nil {
			return nil, err
		}
	}
	return classify.NewEngine(c, custom)
}

// inspection decides per flow whether content is scanned: 1 in N flows by
// flow hash (deterministic), plus every flow whose destination category is
// in always_inspect, from the moment the category is known.
type inspection struct {
	off    bool
	oneIn  uint32
	always [16]string
	n      int
}

func newInspection(cfg *config.Config) inspection {
	in := inspection{off: !cfg.Inspection.Enabled, oneIn: uint32(cfg.Inspection.SampleOneIn)}
	for _, c := range cfg.Inspection.AlwaysInspect {
		if in.n < len(in.always) {
			in.always[in.n] = c
			in.n++
		}
	}
	return in
}

func (in *inspection) sampled(f *reassembly.Flow) bool {
	return !in.off && (in.oneIn <= 1 || f.Hash%in.oneIn == 0)
}

func (in *inspection) alwaysFor(category string) bool {
	if in.off {
		return false
	}
	for _, c := range in.always[:in.n] {
		if c == category {
			return true
		}
	}
	return false
}

// inspectRecord fills the record's sensitive findings, tags and inspected
// byte counts from the session's scanners.
func (s *session) inspectRecord(rec *record.Flow, final bool) {
	// On the stack: most flows without payload get none.
	ins := record.Inspected{Encrypted: s.app.Result().Encrypted}
	var trunc truncations
	if s.scanning { // the flow carried content to scan
		sum := s.c.done // a closed flow's summary, kept for its records: each copies it into its own findings (redaction may add to them)
		sum.found = append(s.h.findingsFor(rec), sum.found...)
		if s.c.scanState != nil || s.c.parked() {
			sum = s.scanResult(final, s.h.findingsFor(rec))
		}
		if len(sum.found) > 0 {
			rec.Sensitive = sum.found
			rec.Tags = classTags(sum.found)
		}
		ins.Out, ins.In = sum.out, sum.in
		trunc = sum.trunc
	}
	switch {
	case s.h.p.inspection.off:
		ins.Skipped = "disabled"
	case !s.inspect:
		ins.Skipped = "sampling"
		if s.ready {
			trunc.add(demux.TruncSampling)
		}
	}
	if ins.Encrypted {
		trunc.add(demux.TruncEncrypted)
	}
	if ins.Out > 0 || ins.In > 0 || ins.Encrypted || ins.Skipped != "" || trunc != 0 {
		kept := s.h.inspectedFor(rec)
		reasons := kept.TruncatedReasons[:0] // the scratch block's array (inspectedFor): kept, not replaced by ins's nil
		*kept = ins
		if trunc != 0 {
			kept.Truncated = true
			kept.TruncatedReasons = trunc.appendNames(reasons)
		}
		rec.Inspected = kept
	}
}

// findingsFor returns an empty slice for rec's findings to be appended to:
// the array the handler keeps for its scratch record (see inspectedFor),
// nil for any other record.
func (h *flowHandler) findingsFor(rec *record.Flow) []record.Finding {
	switch rec {
	case &h.rec:
		return h.recFound[:0]
	case &h.liveRec:
		return h.liveFound[:0]
	}
	return nil
}

// keepFindings keeps the array rec's findings grew into for the next
// record, when rec is one of the handler's scratch records.
func (h *flowHandler) keepFindings(rec *record.Flow) {
	if c := cap(rec.Sensitive); c == 0 || c > maxKeptFindings {
		return
	}
	switch rec {
	case &h.rec:
		h.recFound = rec.Sensitive[:0]
	case &h.liveRec:
		h.liveFound = rec.Sensitive[:0]
	}
}

// maxKeptFindings bounds the findings array a handler keeps per scratch
// record.
const maxKeptFindings = 64

// inspectedFor returns where rec's inspected block may live: the handler
// keeps one for each of its scratch records (Emit's and evalLive's), which
// are deep-copied before they leave the worker, so a record costs no
// allocation for it; any other record gets a new one.
func (h *flowHandler) inspectedFor(rec *record.Flow) *record.Inspected {
	var slot *record.Inspected
	switch rec {
	case &h.rec:
		slot = &h.recInsp
	case &h.liveRec:
		slot = &h.liveInsp
	default:
		return new(record.Inspected)
	}
	reasons := slot.TruncatedReasons[:0] // keep its array
	*slot = record.Inspected{TruncatedReasons: reasons}
	return slot
}

// scanResult is what the scanners found and inspected so far, judged to
// the end when final.
func (s *session) scanResult(final bool, base []record.Finding) scanSummary {
	if s.c.parked() {
		// Everything was judged when the flow parked (a Flush has nothing
		// left), no conflicting copy was written, nothing decoded was cut.
		pk := s.c.pk
		found := pk.st[reassembly.DirOut].Findings(pk.sc, "out", base)
		found = pk.st[reassembly.DirIn].Findings(pk.sc, "in", found)
		return scanSummary{found: found, out: pk.st[0].Inspected(), in: pk.st[1].Inspected(), trunc: s.c.done.trunc}
	}
	sc := &s.c.scan
	if final {
		sc[0].Flush()
		sc[1].Flush()
	}
	found := sc[reassembly.DirOut].Findings(base)
	found = sc[reassembly.DirIn].Findings(found)
	found = s.c.altFindings(found, final, s.h.p.cfg.Inspection.MaxEvidence)
	r := scanSummary{found: found, out: sc[0].Inspected(), in: sc[1].Inspected(), trunc: s.c.trunc}
	if sc[0].Truncated() || sc[1].Truncated() {
		r.trunc.add(demux.TruncInspectBytes)
	}
	// Files inside multipart parts, decoded by the scanner itself.
	switch dt := sc[0].DecodeTruncations() | sc[1].DecodeTruncations(); {
	case dt&classify.DecodeBomb != 0:
		r.trunc.add(demux.TruncBomb)
	case dt&classify.DecodeBudget != 0:
		r.trunc.add(demux.TruncDecodeBudget)
	}
	if dt := sc[0].DecodeTruncations() | sc[1].DecodeTruncations(); dt&classify.DecodeError != 0 {
		r.trunc.add(demux.TruncDecodeError)
	}
	return r
}

// truncations is the set of reasons a flow's inspection stopped early or
// was degraded, one bit per demux.Truncation.
type truncations uint16

func (t *truncations) add(r demux.Truncation) { *t |= 1 << r }

// appendNames appends the reasons in their fixed order.
func (t truncations) appendNames(out []string) []string {
	for r := demux.TruncNone + 1; r < demux.NumTruncations; r++ {
		if t&(1<<r) != 0 {
			out = append(out, r.String())
		}
	}
	return out
}

// Truncated implements demux.Sink: a parser reports why the inspection of
// dir stopped early or fell back to raw bytes.
func (s *session) Truncated(_ reassembly.Dir, r demux.Truncation) {
	switch {
	case !s.inspect:
	case s.scanning && s.c.scanState == nil:
		s.c.done.trunc.add(r) // parked: done holds the flow's truncations (see park)
	case s.scanning:
		s.c.trunc.add(r)
	case r != demux.TruncGap:
		// What a parser gives up on is scanned raw next: set up the
		// scanning state now so the reason is kept with it. A gap before
		// any content (typically in ciphertext) is not worth that state.
		s.scan().trunc.add(r)
	}
}

// decodeBudget is the decoded bytes one coded body may deliver: what a
// direction's scan can use (inspection.inspect_bytes), so decoding is
// budgeted by the plaintext that is scanned, not by compression ratio. With
// no inspect cap, the parsers' default bounds a bomb.
func decodeBudget(cfg *config.Config) int64 {
	return int64(cfg.Inspection.InspectBytes)
}

// classTags are the lowercase classes of the findings (pci, pii, phi,
// secret), in a fixed order.
func classTags(fs []record.Finding) []string {
	var set uint8
	for i := range fs {
		for j, c := range tagClasses {
			if fs[i].Class == c {
				set |= 1 << j
			}
		}
	}
	return classTagSets[set]
}

// tagClasses are the classes that tag a record, in the order of its tags.
var tagClasses = [...]string{"PCI", "PII", "PHI", "SECRET"}

// classTagSets holds the tags of every set of tagClasses (bit i:
// tagClasses[i]), built once: records share them read-only (the copy for
// the ordered stage copies them) instead of allocating a slice and
// lower-casing per record.
var classTagSets = func() (out [1 << len(tagClasses)][]string) {
	for set := range out {
		for i, c := range tagClasses {
			if set&(1<<i) != 0 {
				out[set] = append(out[set], strings.ToLower(c))
			}
		}
	}
	return out
}()

// scanRaw scans plaintext of an unknown protocol (SMTP, FTP, custom TCP or
// UDP payloads) and evaluates the flow's rules when something new was found.
// It returns whether more of the direction is wanted.
func (s *session) scanRaw(dir reassembly.Dir, b []byte) bool {
	if !s.inspect {
		return false
	}
	// In request/response protocols (SMTP, FTP, custom RPC) a value cannot
	// straddle a change of speaker: judge what the other side said so far.
	s.scan()
	if other := 1 - dir; s.c.rawPending[other] {
		s.c.rawPending[other] = false
		before := s.c.scan[other].Matches()
		s.c.scan[other].Sync()
		s.afterScan(before, other)
	}
	st := &s.c.scan[dir]
	before := st.Matches()
	st.Write(b)
	s.c.rawPending[dir] = true
	s.afterScan(before, dir)
	return !st.Truncated()
}

// afterScan evaluates the rules right away when a scan found something new.
func (s *session) afterScan(before int, dir reassembly.Dir) {
	if s.c.scan[dir].Matches() != before {
		s.h.changed(s, s.ts)
	}
}

// redact returns b with every sensitive value the detectors find replaced
// by its masked evidence, through the one redaction point (see
// redactRecord): text copied into a record (an HTTP path) must not carry a
// value the record elsewhere only shows masked.
func (h *flowHandler) redact(b []byte) string {
	return h.p.swap.classify.Load().Redact(string(b), false, nil)
}
