package report

import (
	"bufio"
	"strconv"
	"strings"
)

func itoa(i int) string { return strconv.Itoa(i) }

// bufioSmall forces ReadSlice to return ErrBufferFull on long lines.
func bufioSmall(s string) *bufio.Reader { return bufio.NewReaderSize(strings.NewReader(s), 16) }
