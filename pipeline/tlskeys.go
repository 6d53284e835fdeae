package pipeline

import (
	"github.com/tapdlp/tapdlp/appproto/tlsdecrypt"
	"github.com/tapdlp/tapdlp/capture"
)

// loadKeys sets up the TLS key store: the key log files given for a
// replay are read whole (errors name the file, never its content); the
// configured tls.keylog_files are followed by the sensor (Keys).
func (p *Pipeline) loadKeys() error {
	p.keys = tlsdecrypt.NewStore(int(p.cfg.TLS.KeystoreBytes))
	p.pending = tlsdecrypt.NewPendingBudget(int64(p.cfg.TLS.PendingBytes))
	p.keysConfigured = len(p.opts.KeyLogs) > 0 || len(p.cfg.TLS.KeylogFiles) > 0
	for _, f := range p.opts.KeyLogs {
		st, err := p.keys.LoadFile(f, 0)
		if err != nil {
			return err
		}
		p.log.Info("tls key log", "file", f, "secrets", st.Secrets, "bad_lines", st.Bad+st.TooLong)
	}
	return nil
}

// PendingBudget returns the bound on encrypted bytes waiting for keys.
func (p *Pipeline) PendingBudget() *tlsdecrypt.PendingBudget { return p.pending }

// Keys returns the TLS key store (the sensor's key log followers feed it).
func (p *Pipeline) Keys() *tlsdecrypt.Store { return p.keys }

// addSecret takes a pcapng Decryption Secrets Block's TLS key log into the
// key store; other kinds (WireGuard, …) are not used.
func (p *Pipeline) addSecret(s capture.Secret) {
	if s.Type == capture.SecretsTLSKeyLog {
		p.keys.AddKeyLog(s.Data)
	}
}
