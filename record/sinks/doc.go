// Package sinks is the durable output side of tapdlp: it moves encoded
// records (one JSON object each, as produced by the pipeline) to their
// destinations — stdout, rotated files, syslog (RFC 5424 over TCP, TLS or
// UDP) and Kafka — and routes each record by its kind to one or more of them
// through a Router that implements record.Sink. The kind and the partition
// key (community_id) travel beside the JSON in record.Encoded, and through
// the memory queue and the spool (frame.go), so no sink parses a record.
//
// Network sinks never block the caller longer than a memory copy: each has a
// bounded in-memory queue that spills, in order, to an on-disk spool under the
// configured state directory while the destination is slow or down, and is
// drained from there once it is back. Records are dropped only when both are
// full, and every drop is counted per sink and reason.
//
// The package must not know about packets, flows or content: it never looks
// inside a record's JSON, and it never logs a record's contents (they may
// carry masked evidence).
package sinks
