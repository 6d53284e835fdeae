// Package classify is tapdlp's content-inspection engine: it finds sensitive
// values (card numbers, national and health identifiers, credentials) in
// plaintext bytes, validates them (Luhn, mod 97, Verhoeff, check digits,
// context words), masks what it reports and aggregates findings per flow
// direction into record.Finding values.
//
// It receives plaintext only: HTTP header values, de-chunked and
// de-compressed bodies with their Content-Type, or raw TCP payload. It owns
// the content transforms that sit between such bytes and the detectors
// (URL and form decoding, JSON string unescaping, multipart/form-data parts,
// embedded base64 blobs). It must not know about packets, flows, TCP or HTTP
// framing, and it must never emit a raw sensitive value: evidence is masked
// and correlation uses a keyed HMAC.
//
// One Engine is compiled per configuration and shared read-only by all
// workers; each worker owns a Scanner (reusable buffers) and opens one Stream
// per flow direction. Scanning is streaming: a Stream keeps a bounded
// carry-over window so that values split across Write calls (TCP segments,
// HTTP chunks) are found exactly as if the input had arrived whole.
package classify
