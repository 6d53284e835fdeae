package sensor

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/sinks"
)

// TestReadiness: ready while the capture reads and no sink loses records
// to a full spool since the previous check; it recovers without a restart.
func TestReadiness(t *testing.T) {
	okKernel := func() (live.Stats, error) { return live.Stats{}, nil }
	if err := readiness(nil, nil, nil)(); err == nil || !strings.Contains(err.Error(), "capture not open") {
		t.Errorf("no capture: %v", err)
	}
	bad := func() (live.Stats, error) { return live.Stats{}, errors.New("bad file descriptor") }
	if err := readiness(bad, nil, nil)(); err == nil || !strings.Contains(err.Error(), "capture: bad file descriptor") {
		t.Errorf("unreadable capture: %v", err)
	}
	if err := readiness(okKernel, nil, nil)(); err != nil {
		t.Errorf("-o output, capture open: %v", err)
	}

	syslog, file := new(sinks.Stats), new(sinks.Stats)
	router := sinks.NewRouter()
	router.Add("syslog", record.NewWriterSink(io.Discard), syslog, "alert")
	router.Add("file", record.NewWriterSink(io.Discard), file, "flow")
	ready := readiness(okKernel, router, []string{"syslog", "file", "gone"})
	steps := []struct {
		name string
		do   func()
		want string // "" ready
	}{
		{"quiet", func() {}, ""},
		{"other drop reasons do not count", func() { syslog.Drop(sinks.DropTooLarge, 5); file.Failed.Add(3) }, ""},
		{"spool full", func() { syslog.Drop(sinks.DropSpoolFull, 1) }, "sink [syslog] dropping records: spool full"},
		{"recovered", func() {}, ""},
		{"both", func() { syslog.Drop(sinks.DropSpoolFull, 1); file.Drop(sinks.DropSpoolFull, 2) }, "sink [syslog file]"},
	}
	for _, st := range steps {
		st.do()
		err := ready()
		if (err == nil) != (st.want == "") || err != nil && !strings.Contains(err.Error(), st.want) {
			t.Errorf("%s: %v, want %q", st.name, err, st.want)
		}
	}
}

// TestDropPrivilegesDecision: who drops what, and which failures stop the
// run.
func TestDropPrivilegesDecision(t *testing.T) {
	kept := errors.Join(errors.New("x"), live.ErrCapabilitiesKept)
	tests := []struct {
		name     string
		user     string
		euid     int
		dropErr  error
		wantDrop bool
		wantErr  bool
		wantLog  string
	}{
		{"root without user keeps root", "", 0, nil, false, false, "running as root"},
		{"root with user drops", "nobody", 0, nil, true, false, ""},
		{"capabilities only drops", "", 1000, nil, true, false, ""},
		{"cgo build keeps capabilities", "", 1000, kept, true, false, "running with capabilities"},
		{"failure stops the run", "nobody", 0, errors.New("setuid: EPERM"), true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			log := slog.New(slog.NewTextHandler(&logs, nil))
			dropped := false
			err := dropPrivileges(tt.user, tt.euid, func(u string) error {
				dropped = true
				if u != tt.user {
					t.Errorf("dropped to %q, want %q", u, tt.user)
				}
				return tt.dropErr
			}, log)
			if dropped != tt.wantDrop || (err != nil) != tt.wantErr {
				t.Errorf("dropped %v err %v; want dropped %v, error %v", dropped, err, tt.wantDrop, tt.wantErr)
			}
			if !strings.Contains(logs.String(), tt.wantLog) || tt.wantLog == "" && logs.Len() > 0 {
				t.Errorf("log %q, want %q", logs.String(), tt.wantLog)
			}
		})
	}
}
