package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/internal/cli"
	"github.com/tapdlp/tapdlp/pipeline"
)

var scanCmd = &cli.Command{
	Name: "scan", Usage: "[-c FILE] [--json] [FILE...|-]",
	Summary: "find sensitive data in a file or stdin with the sensor's detectors (a validating PII grep)",
	Setup: func(fs *flag.FlagSet) func(*cli.Env) error {
		asJSON := fs.Bool("json", false, `one finding per line: {"file","type","class","start","end","confidence","evidence"} ("file" is "stdin" for -)`)
		return func(e *cli.Env) error { return scan(e, *asJSON) }
	},
}

// scan prints every finding in the inputs and, like grep, exits 1 when
// there is none.
func scan(e *cli.Env, asJSON bool) error {
	files := e.Args
	if len(files) == 0 {
		files = []string{"-"}
	}
	cfg, err := config.Load(e.Config)
	if err != nil {
		return err
	}
	eng, err := pipeline.BuildClassifier(cfg)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(e.Stdout)
	defer w.Flush()
	found := 0
	var line []byte
	for _, name := range files {
		err := e.Open(name, func(label string, r io.Reader) error {
			fileField, _ := json.Marshal(label)
			fileField = append(append([]byte(`{"file":`), fileField...), ',')
			return classify.ScanReader(r, eng, func(m classify.Match) {
				found++
				if asJSON { // the match's object with "file" first
					line = m.AppendJSON(append(line[:0], fileField...))
					line = append(line[:len(fileField)], line[len(fileField)+1:]...)
					w.Write(line)
					w.WriteByte('\n')
					return
				}
				prefix := ""
				if len(files) > 1 {
					prefix = name + ":"
				}
				fmt.Fprintf(w, "%s%d-%d\t%s\t%s\t%s\t%s\n", prefix, m.Start, m.End, m.Type, m.Class, m.Confidence, m.Evidence)
			})
		})
		if err != nil {
			return fmt.Errorf("scan %s: %w", name, err)
		}
	}
	if found == 0 {
		return cli.Status(1) // like grep: nothing found
	}
	return nil
}
