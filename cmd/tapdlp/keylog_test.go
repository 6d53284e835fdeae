package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `replay --keylog` decrypts; a key log that does not exist fails with its
// path; key material never reaches stdout or stderr, not even in an error
// about a malformed key log.
func TestReplayKeylogFlag(t *testing.T) {
	const capture = "../../capture/testdata/editcap_dsb.pcapng"
	keylog, err := os.ReadFile("../../capture/testdata/editcap_dsb.keylog")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "keys.log")
	bad := filepath.Join(dir, "bad.log")
	if err := os.WriteFile(good, keylog, 0o600); err != nil {
		t.Fatal(err)
	}
	// Every line damaged (one hex digit cut): all bad, none echoed.
	var damaged []string
	for _, l := range strings.Split(strings.TrimSpace(string(keylog)), "\n") {
		if !strings.HasPrefix(l, "#") && l != "" {
			damaged = append(damaged, l[:len(l)-1])
		}
	}
	if err := os.WriteFile(bad, []byte(strings.Join(damaged, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"keylog", []string{"replay", "-q", "--keylog", good, capture}, 0, `"decrypted":true`},
		{"keylog after the capture, twice", []string{"replay", "-q", capture, "--keylog", good, "--keylog", bad}, 0, `"decrypted":true`},
		{"missing keylog", []string{"replay", "-q", "--keylog", filepath.Join(dir, "nope.log"), capture}, 1, "nope.log"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s\n%s", code, tc.code, tc.want, out, errOut)
			}
			all := strings.ToLower(out + errOut)
			for _, l := range strings.Split(string(keylog), "\n") {
				f := strings.Fields(l)
				if len(f) != 3 || strings.HasPrefix(l, "#") {
					continue
				}
				if strings.Contains(all, strings.ToLower(f[2][:16])) {
					t.Fatalf("%s secret material in the output", f[0])
				}
			}
		})
	}
}
