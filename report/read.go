package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tapdlp/tapdlp/record"

	"github.com/tapdlp/tapdlp/internal/decompress"
)

// ErrMalformed is returned by AddJSON for a line that is not a record; the
// readers count such lines and go on.
var ErrMalformed = errors.New("report: malformed record")

// wire is the union of the record fields the report uses. Decoding into it
// rather than into record.Flow skips a finding's evidence and hashes, so
// the report never even holds them.
type wire struct {
	Type      string        `json:"type"`
	TS        record.Time   `json:"ts"`
	Start     record.Time   `json:"start"`
	End       record.Time   `json:"end"`
	FlowID    string        `json:"flow_id"`
	State     string        `json:"state"`
	Src       record.Src    `json:"src"`
	Dst       record.Dst    `json:"dst"`
	Bytes     record.Counts `json:"bytes"`
	Sensitive []struct {
		Type       string `json:"type"`
		Class      string `json:"class"`
		Count      int    `json:"count"`
		Direction  string `json:"direction"`
		TestNumber bool   `json:"test_number"`
	} `json:"sensitive"`
	Alerts    []string `json:"alerts"`
	ConnState string   `json:"conn_state"`
	Reject    *struct {
		By string `json:"by"`
	} `json:"reject"`
	HTTP *struct {
		URI string `json:"uri"`
	} `json:"http"`
	CommunityID string  `json:"community_id"`
	Reason      string  `json:"reason"`
	Rule        string  `json:"rule"`
	Severity    string  `json:"severity"`
	Count       int     `json:"count"`
	Key         string  `json:"key"`
	Window      string  `json:"window"`
	BytesOut    uint64  `json:"bytes_out"`
	Baseline    float64 `json:"baseline"`
}

// AddJSON aggregates one JSON record (flow, alert or volume). A line that
// does not decode is counted and ErrMalformed returned; an unknown type is
// counted and ignored (newer sensors may write more record types).
func (r *Report) AddJSON(line []byte) error {
	var w wire
	if err := json.Unmarshal(line, &w); err != nil {
		r.malformed++
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch w.Type {
	case "flow":
		ff := flowFacts{
			id: w.FlowID, state: w.State, ts: w.TS.Time, start: w.Start.Time, end: w.End.Time,
			srcIP: w.Src.IP, srcSvc: w.Src.Service, dst: &w.Dst, bytes: w.Bytes,
			findings: len(w.Sensitive), alerts: len(w.Alerts), connState: w.ConnState,
		}
		if w.Reject != nil {
			ff.rejectBy = w.Reject.By
		}
		if w.HTTP != nil {
			ff.httpURI = w.HTTP.URI
		}
		k := r.addFlow(ff)
		for _, s := range w.Sensitive {
			r.addFinding(k, s.Type, s.Class, s.Direction, s.Count, s.TestNumber)
		}
	case "alert":
		r.addAlert(alertFacts{rule: w.Rule, severity: w.Severity, ts: w.TS.Time, count: w.Count, src: &w.Src, dst: &w.Dst,
			reason: w.Reason, flowID: w.FlowID, communityID: w.CommunityID})
	case "volume":
		r.addVolume(w.Key, w.Window, w.TS.Time, w.BytesOut, w.Baseline)
	default:
		r.unknownType++
	}
	return nil
}

// ReadInput aggregates every record of one input: JSON lines, plain or
// gzip or zstd compressed (detected from the magic number). Malformed and
// over-long lines are counted and skipped; only read and decompression
// errors are returned, naming the input and line.
func (r *Report) ReadInput(name string, rd io.Reader) error {
	in := r.input(name)
	src, err := decompress.NewReader(rd)
	if err != nil {
		return fmt.Errorf("report: %s: %w", name, err)
	}
	defer src.Close()
	lr := lineReader{r: src.Reader, max: r.opt.MaxLine}
	for n := 1; ; n++ {
		line, tooLong, err := lr.next()
		if tooLong {
			r.oversized++
			if in != nil {
				in.malformed++
			}
		} else if line = bytes.TrimSpace(line); len(line) > 0 {
			if aerr := r.AddJSON(line); aerr != nil {
				if in != nil {
					in.malformed++
				}
			} else if in != nil {
				in.records++
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("report: %s: line %d: %w", name, n, err)
		}
	}
}

// input returns the statistics slot for a new input, or nil past the cap.
func (r *Report) input(name string) *inputStat {
	if len(r.inputs) >= maxInputs {
		r.inputsFolded++
		return nil
	}
	r.inputs = append(r.inputs, inputStat{name: keep(name)})
	return &r.inputs[len(r.inputs)-1]
}

// lineReader returns lines of at most max bytes; the rest of a longer line
// is read and dropped so a hostile line cannot grow memory.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
	max int
}

// next returns the next line without its newline. The line is valid until
// the next call. err is io.EOF with the last line.
func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	l.buf = l.buf[:0]
	for {
		frag, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(frag) > l.max+1 { // +1: the newline
				tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = append(l.buf, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			return nil, true, err
		}
		return bytes.TrimSuffix(l.buf, []byte{'\n'}), false, err
	}
}
