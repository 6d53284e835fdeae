// Package sinks is the durable output side of tapdlp: it moves encoded
// records (one JSON object each, as produced by the pipeline) to their
// destinations — stdout (record.WriterSink with a flush timer), files
// (FileSink: regular files rotated, devices and pipes written straight
// into; also what `-o FILE` opens), syslog (RFC 5424 over TCP, TLS or
// UDP) and Kafka — and routes each record by its kind to one or more of them
// through a Router that implements record.Sink. The kind and the partition
// key (community_id) travel beside the JSON in record.Encoded, and through
// the memory queue and the spool (frame.go), so no sink parses a record.
//
// Network sinks never wait for the network: with a state directory, Write
// appends the record to an on-disk spool (write-ahead, one write(2)) before
// any send is attempted, and a sender goroutine delivers from the spool in
// order, committing what the destination took, so a crash at any instant
// loses nothing that was accepted (at-least-once). Without a state directory
// records wait in a bounded memory queue. Records are dropped only when the
// spool (or the queue) is full, and every drop is counted per sink and reason.
//
// The package must not know about packets, flows or content: it never looks
// inside a record's JSON, and it never logs a record's contents (they may
// carry masked evidence).
package sinks
