package classify

import (
	"reflect"
	"testing"
)

// A Stream parked at a message boundary and continued on another Stream
// (Reset, as a worker's recycled one is, after scanning something else)
// finds exactly what one Stream kept throughout finds: findings aggregate
// across the pause, the look-back context and the encoded pass's label
// tail serve the next message, the inspected count and the cap go on.
func TestParkContinuesExactly(t *testing.T) {
	e := testEngine(t)
	type write struct {
		kind ContentKind
		s    string
	}
	cases := []struct {
		name          string
		before, after []write
	}{
		{"same card in both messages: counted twice, one evidence", []write{{KindJSON, `{"card":"4111 1111 1111 1111"}`}}, []write{{KindJSON, `{"card":"4111 1111 1111 1111"}`}}},
		{"context word before the pause, value after", []write{{KindPlain, "employee social security number:"}}, []write{{KindPlain, " 536-22-8741"}}},
		{"label before the pause, unpadded base64 number after", []write{{KindPlain, `"card_number":`}}, []write{{KindPlain, "NDExMTExMTExMTExMTExMQ"}}},
		{"encoded and plain findings before the pause, both after", []write{{KindPlain, `"ssn":"536-22-8741","card_number":"NDExMTExMTExMTExMTExMQ"`}},
			[]write{{KindPlain, `"card_number":"NTUwMDAwMDAwMDAwMDAwNA" ssn 078-05-1120`}}},
		{"url-encoded then form", []write{{KindURLEncoded, "/pay?c=4111%201111%201111%201111"}}, []write{{KindForm, "ssn=536-22-8741&x=1"}}},
		{"nothing before", []write{{KindPlain, "GET / HTTP/1.1"}}, []write{{KindPlain, "AKIAIOSFODNN7EXAMPLE and 5500 0000 0000 0004"}}},
		{"nothing at all", nil, []write{{KindPlain, "hello"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := e.NewScanner()
			feed := func(st *Stream, ws []write) {
				for _, w := range ws {
					st.WriteDecoded(w.kind, []byte(w.s))
					st.EndContent()
				}
			}
			whole := sc.NewStream("out")
			feed(whole, tc.before)
			whole.Sync()
			feed(whole, tc.after)
			whole.Flush()

			first := sc.NewStream("out")
			feed(first, tc.before)
			first.Sync()
			if !first.Idle() {
				t.Fatal("not idle after Sync at a message boundary")
			}
			var p Parked
			first.Park(&p)
			if p.Bytes() > 256 {
				t.Errorf("parked %d bytes, want at most 256", p.Bytes())
			}
			parkedFound := p.Findings(sc, "out", nil)
			if want := first.Findings(nil); !reflect.DeepEqual(parkedFound, want) {
				t.Errorf("parked findings %+v, want %+v", parkedFound, want)
			}
			// The Stream goes to another flow and scans there first.
			first.Reset()
			first.Write([]byte("ssn 078-05-1120 card 4111 1111 1111 1111"))
			first.Reset()
			first.Unpark(&p)
			feed(first, tc.after)
			first.Flush()
			if got, want := first.Findings(nil), whole.Findings(nil); !reflect.DeepEqual(got, want) {
				t.Errorf("parked and continued: %+v\nkept: %+v", got, want)
			}
			if first.Inspected() != whole.Inspected() || first.Dropped() != whole.Dropped() {
				t.Errorf("inspected %d dropped %d, kept %d %d", first.Inspected(), first.Dropped(), whole.Inspected(), whole.Dropped())
			}
		})
	}
}

// A Stream mid-value, mid-decoder or stopped is not Idle: parking it would
// lose what it holds.
func TestParkNotIdle(t *testing.T) {
	e := testEngine(t)
	sc := e.NewScanner()
	cases := []struct {
		name string
		do   func(st *Stream)
	}{
		{"value in progress (no Sync)", func(st *Stream) { st.Write([]byte("card 4111 1111")) }},
		{"decoder active", func(st *Stream) { st.WriteDecoded(KindURLEncoded, []byte("a=%4")) }},
		{"flushed", func(st *Stream) { st.Write([]byte("x")); st.Flush() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := sc.NewStream("in")
			tc.do(st)
			if st.Idle() {
				t.Error("Idle")
			}
		})
	}
}
