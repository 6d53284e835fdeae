package sinks

// topField returns the raw value of the top-level string field key in the
// JSON object rec, without unmarshalling: the router and the Kafka sink need
// only "type" and "community_id", per record, on the output path. Nested
// objects are skipped (sensitive[].type must not match "type"). The value is
// returned as written, escapes included; ok is false when the field is
// absent, not a string, or rec is not a well-formed object prefix.
func topField(rec []byte, key string) (val []byte, ok bool) {
	depth := 0
	i := 0
	n := len(rec)
	expectKey := false
	for i < n {
		c := rec[i]
		switch c {
		case '{', '[':
			depth++
			expectKey = c == '{' && depth == 1
			i++
		case '}', ']':
			depth--
			if depth <= 0 {
				return nil, false
			}
			i++
		case ',':
			expectKey = depth == 1
			i++
		case '"':
			end, ok := stringEnd(rec, i)
			if !ok {
				return nil, false
			}
			if expectKey && depth == 1 {
				expectKey = false
				isKey := end-i-1 == len(key) && string(rec[i+1:end]) == key
				j := skipSpace(rec, end+1)
				if j >= n || rec[j] != ':' {
					return nil, false
				}
				j = skipSpace(rec, j+1)
				if isKey {
					if j >= n || rec[j] != '"' {
						return nil, false
					}
					vend, ok := stringEnd(rec, j)
					if !ok {
						return nil, false
					}
					return rec[j+1 : vend], true
				}
				i = j
				continue
			}
			i = end + 1
		default:
			i++
		}
	}
	return nil, false
}

// stringEnd returns the index of the quote closing the string opened at i.
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j, true
		}
	}
	return 0, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
