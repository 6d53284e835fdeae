// Package dns decodes DNS messages seen passively on the wire — UDP payloads
// and length-framed TCP streams — and extracts the facts the destination
// stage needs: the question, the response code, and the addresses a name
// resolved to (A, AAAA, the HTTPS/SVCB address hints), with the CNAME chain
// followed from the name the client asked for.
//
// It is a parser only: it must not know about flows, caches or destinations,
// and it never scans content. Input is hostile: every loop is bounded by the
// message length or a fixed cap, compression pointers may only point
// backwards, and a caller-owned Message is reused so that parsing a message
// allocates nothing; strings are made only when the caller asks for answers.
package dns
