package sinks

import "github.com/tapdlp/tapdlp/record"

// A queued or spooled record is one entry laid out as
//
//	kind and severity (1 byte) | key length (1 byte) | key | JSON
//
// The first byte holds the kind in its low four bits and an alert's
// severity (record.Severity) in its high four; spools written before the
// severity existed have zero there, which reads as no severity.
// so a network sink still knows a record's kind and partition key after a
// restart without parsing the JSON again. Keys longer than 255 bytes (a
// community_id has 30) are not carried.
const frameHeader = 2

func frame(rec record.Encoded) []byte {
	key := rec.Key
	if len(key) > 255 {
		key = ""
	}
	b := make([]byte, frameHeader+len(key)+len(rec.JSON))
	b[0], b[1] = byte(rec.Kind)&0x0f|byte(rec.Severity)<<4, byte(len(key))
	copy(b[frameHeader:], key)
	copy(b[frameHeader+len(key):], rec.JSON)
	return b
}

// unframe splits an entry made by frame. A short entry (a corrupt spool
// would have been rejected by its checksum first) yields kind 0.
func unframe(b []byte) (kind record.Kind, key, json []byte) {
	if len(b) < frameHeader || len(b) < frameHeader+int(b[1]) {
		return 0, nil, b
	}
	n := frameHeader + int(b[1])
	return record.Kind(b[0] & 0x0f), b[frameHeader:n], b[n:]
}

// frameSeverity returns the alert severity of an entry made by frame.
func frameSeverity(b []byte) record.Severity {
	if len(b) < frameHeader {
		return record.SevNone
	}
	return record.Severity(b[0] >> 4)
}

// kindName is the record type for a header field; "" for an invalid kind.
func kindName(k record.Kind) string {
	if _, ok := record.ParseKind(k.String()); !ok {
		return ""
	}
	return k.String()
}
