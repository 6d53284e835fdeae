// Package tlsdecrypt decrypts TLS 1.2 and 1.3 connections seen passively
// when their secrets are known from an NSS key log (SSLKEYLOGFILE, Go's
// tls.Config.KeyLogWriter, a pcapng Decryption Secrets Block).
//
// It has three parts: a key log reader (LineParser, bounded lines, bad
// lines counted and never echoed), a Store of secrets by ClientHello
// random (bounded in bytes, least recently used evicted, safe for
// concurrent use) fed from files, followed files (Follower) and secrets
// blocks, and a per-flow decryptor (Flow) that follows the record layer of
// both directions, reads the ClientHello and ServerHello, derives the
// traffic keys (TLS 1.2 PRF, TLS 1.3 HKDF-Expand-Label), follows the TLS
// 1.3 key schedule through EncryptedExtensions (ALPN), Finished and
// KeyUpdate, and hands application data to a Handler. Records whose key
// has not arrived yet are buffered per flow up to a bound.
//
// Supported: AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 suites of TLS
// 1.2 (ECDHE, DHE and RSA key exchange) and TLS 1.3. Anything else ends in
// a Reason (unsupported_suite, unsupported_version), never an error per
// record. Key material never appears in an error, a log line or a record.
// The package knows nothing of HTTP or content: it returns bytes.
package tlsdecrypt
