package sensor

import (
	"github.com/tapdlp/tapdlp/appproto/tlsdecrypt"
	"github.com/tapdlp/tapdlp/pipeline"
)

// tlsView is TLS decryption as the metrics registry sees it: the shared
// bound on ciphertext waiting for its key, the flows' outcomes and the key
// store fed by the key logs. Every label value is a fixed outcome or
// rejection reason; nothing from a key log (a secret) or from traffic.
type tlsView struct {
	Pending        int64  `metric:"tapdlp_tls_pending_bytes" help:"Encrypted TLS bytes buffered, over all flows, while their key has not arrived (bounded by tls.pending_bytes)."`
	PendingDropped uint64 `metric:"tapdlp_tls_pending_dropped_bytes_total" help:"Encrypted TLS bytes dropped because tls.pending_bytes was full (their flows end truncated)."`

	Decrypted    uint64 `metric:"tapdlp_tls_flows_decrypted_total" help:"TLS flows whose every encrypted record was decrypted (final records with tls.decrypted true)."`
	NotDecrypted []tlsReasonRow

	KeyLogLines    uint64 `metric:"tapdlp_tls_keylog_lines_total" help:"Key log lines read (comments and blank lines aside), from tls.keylog_files, replay --keylog files and pcapng secrets blocks."`
	KeyLogSecrets  uint64 `metric:"tapdlp_tls_keylog_secrets_total" help:"Key log lines whose secret was taken into the key store."`
	KeyLogRejected []keyLogRejectRow
	KeyLogErrors   uint64 `metric:"tapdlp_tls_keylog_read_errors_total" help:"Polls at which a followed key log file could not be opened or read (a file not there yet counts at every poll)."`
	KeysHeld       int    `metric:"tapdlp_tls_keys_held" help:"Client randoms whose secrets the key store holds (bounded by tls.keystore_bytes)."`
	KeysEvicted    uint64 `metric:"tapdlp_tls_keys_evicted_total" help:"Client randoms evicted, least recently used first, to keep the key store within tls.keystore_bytes."`
	KeyConflicts   uint64 `metric:"tapdlp_tls_key_conflicts_total" help:"Secrets replaced by a different value for the same client random and label (the later one is used)."`
}

type tlsReasonRow struct {
	Reason string `label:"reason"`
	N      uint64 `metric:"tapdlp_tls_flows_not_decrypted_total" help:"TLS flows that stayed encrypted, wholly or in part, by the reason their record gives in tls.decrypt_reason (counted when keys are configured or a capture brought them)."`
}

type keyLogRejectRow struct {
	Reason string `label:"reason"`
	N      uint64 `metric:"tapdlp_tls_keylog_lines_rejected_total" help:"Key log lines not used, by reason: malformed (fields, hex or length), too_long (over 1 KiB), unknown_label (e.g. RSA lines), ignored_label (exporter secrets)."`
}

// readTLS reads the TLS sources; a nil one reads as zeros.
func readTLS(pending *tlsdecrypt.PendingBudget, out *pipeline.TLSStats, keys *tlsdecrypt.Store) tlsView {
	var v tlsView
	if pending != nil {
		v.Pending, v.PendingDropped = pending.Used(), pending.Dropped()
	}
	if out != nil {
		v.Decrypted = out.Decrypted()
		for _, o := range out.NotDecrypted() {
			v.NotDecrypted = append(v.NotDecrypted, tlsReasonRow{o.Reason, o.Count})
		}
	}
	var st tlsdecrypt.StoreStats
	if keys != nil {
		st = keys.Stats()
	}
	ps := st.Parse
	v.KeyLogLines, v.KeyLogSecrets = ps.Lines, ps.Secrets
	v.KeyLogRejected = []keyLogRejectRow{
		{"malformed", ps.Bad}, {"too_long", ps.TooLong}, {"unknown_label", ps.Unknown}, {"ignored_label", ps.Ignored},
	}
	v.KeyLogErrors = st.ReadErrors
	v.KeysHeld, v.KeysEvicted, v.KeyConflicts = st.Entries, st.Evicted, st.Conflicts
	return v
}
