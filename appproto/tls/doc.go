// Package tls reads the cleartext start of a TLS handshake seen passively —
// the ClientHello (and, minimally, the ServerHello) — from a TCP stream fed
// in arbitrary chunks, or from a QUIC CRYPTO stream, and extracts the facts
// the sensor records: SNI, ALPN, offered and selected versions, cipher
// suites, extensions, signature algorithms and the JA4 fingerprint (which
// a worker's JA4Memo remembers, since clients repeat theirs flow after flow).
//
// It is a parser only: it knows nothing of flows, destinations or content
// scanning, and it never decrypts. Input is hostile: buffering is capped
// (MaxHandshake), a stream that does not start like a TLS handshake record
// is rejected on its first byte, and malformed messages end in a Status,
// never a panic. The package is named tls for its role; import it with an
// alias (apptls) where crypto/tls is also in scope.
package tls
