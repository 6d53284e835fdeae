package classify_test

import (
	"fmt"
	"strings"

	"github.com/tapdlp/tapdlp/classify"
)

func ExampleEngine_ScanAll() {
	e, err := classify.NewEngine(classify.Config{}, nil)
	if err != nil {
		panic(err)
	}
	e.ScanAll([]byte(`{"ssn":"123-45-6789","card":"4111 1111 1111 1111"}`), func(m classify.Match) {
		fmt.Println(string(m.AppendJSON(nil)))
	})
	// Output:
	// {"type":"us_ssn","class":"PII","start":8,"end":19,"confidence":"high","evidence":"*****6789"}
	// {"type":"credit_card","class":"PCI","start":29,"end":48,"confidence":"high","evidence":"************1111","test_number":true}
}

func ExampleStream() {
	e, _ := classify.NewEngine(classify.Config{HMACKey: []byte("per-site secret")}, nil)
	sc := e.NewScanner() // one per worker
	out := sc.NewStream("out")
	// A form body split across two TCP segments.
	ct := classify.ParseContentType("application/x-www-form-urlencoded")
	out.WriteContent(ct, []byte("email=jane.doe%40exam"))
	out.WriteContent(ct, []byte("ple.com&note=hi"))
	out.Flush()
	for _, f := range out.Findings(nil) {
		fmt.Println(f.Type, f.Class, f.Count, f.Direction, f.Confidence, f.Evidence, strings.HasPrefix(f.Hashes[0], "hmac:"))
	}
	fmt.Println(out.Inspected(), out.Truncated())
	// Output:
	// email PII 1 out high [j***@example.com] true
	// 34 false
}
