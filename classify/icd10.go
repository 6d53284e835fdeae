package classify

// icd10Ranges lists the ICD-10-CM chapter ranges of 3-character categories
// (letter, two digits) that exist; numbers outside them (E90-E99, K96-K99,
// P97-P99, T89-T99 ...) and the reserved U chapter are rejected.
var icd10Ranges = [26][2]uint8{
	{0, 99}, {0, 99}, {0, 96}, {0, 89}, {0, 89}, {1, 99}, {0, 99}, {0, 95}, // A-H
	{0, 99}, {0, 99}, {0, 95}, {0, 99}, {0, 99}, {0, 99}, {0, 99}, {0, 96}, // I-P
	{0, 99}, {0, 99}, {0, 99}, {0, 88}, {7, 9}, {0, 99}, {0, 99}, {0, 99}, // Q-X
	{0, 99}, {0, 99}, // Y-Z
}

// icd10AlphaCats are the categories whose third character is a letter.
var icd10AlphaCats = [...]string{"C4A", "C7A", "C7B", "D3A", "M1A", "O9A", "Z3A"}

// icd10Category reports whether the three bytes are an ICD-10-CM category.
func icd10Category(b []byte) bool {
	if len(b) < 3 || !isUpper(b[0]) || !isDigit(b[1]) {
		return false
	}
	if isUpper(b[2]) {
		for _, c := range icd10AlphaCats {
			if string(b[:3]) == c {
				return true
			}
		}
		return false
	}
	if !isDigit(b[2]) {
		return false
	}
	n := (b[1]-'0')*10 + b[2] - '0'
	r := icd10Ranges[b[0]-'A']
	if b[0] == 'U' {
		return n == 7 || n == 9
	}
	return n >= r[0] && n <= r[1]
}
