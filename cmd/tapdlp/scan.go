package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/pipeline"
)

func runScan(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, `one finding per line: {"file","type","class","start","end","confidence","evidence"} ("file" is "stdin" for -)`)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tapdlp scan [-c FILE] [--json] [FILE...|-]")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return exitCode(stderr, err)
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return exitCode(stderr, err)
	}
	eng, err := pipeline.BuildClassifier(cfg)
	if err != nil {
		return exitCode(stderr, err)
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	found := 0
	var line []byte
	for _, name := range files {
		err := withInput(name, func(label string, r io.Reader) error {
			fileField, _ := json.Marshal(label)
			fileField = append(append([]byte(`{"file":`), fileField...), ',')
			return classify.ScanReader(r, eng, func(m classify.Match) {
				found++
				if *asJSON { // the match's object with "file" first
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
			return exitCode(stderr, fmt.Errorf("scan %s: %w", name, err))
		}
	}
	if found == 0 {
		return 1 // like grep: nothing found
	}
	return 0
}
