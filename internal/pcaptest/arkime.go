package pcaptest

import (
	"encoding/json"
	"fmt"
	"os"
)

// ArkimeSession is what the parsers' tests compare with in Arkime's expected
// session documents (NAME.arkime.test.json): the session's http.host (the
// TLS SNI for TLS sessions) and tls.ja4 values.
type ArkimeSession struct {
	Hosts []string
	JA4   []string
}

// ArkimeSessions reads an Arkime expected-sessions file.
func ArkimeSessions(path string) ([]ArkimeSession, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Sessions3 []struct {
			Body struct {
				HTTP struct{ Host []string }
				TLS  struct{ JA4 []string }
			}
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]ArkimeSession, len(doc.Sessions3))
	for i, s := range doc.Sessions3 {
		out[i] = ArkimeSession{Hosts: s.Body.HTTP.Host, JA4: s.Body.TLS.JA4}
	}
	return out, nil
}
