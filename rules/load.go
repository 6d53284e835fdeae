package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tapdlp/tapdlp/config"
)

// LoadDir parses every *.yaml and *.yml file directly in dir, in lexical
// order (hidden files skipped, symlinks followed: Kubernetes ConfigMap
// mounts are symlinks), and reports every problem of every file, including duplicate ids
// across files (with both positions).
func LoadDir(dir string) ([]Rule, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("rules: read dir: %w", err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && fi.Mode().IsRegular() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var all []Rule
	var errs config.Errors
	for _, n := range names {
		rs, err := LoadFile(filepath.Join(dir, n))
		var ds config.Errors
		if errors.As(err, &ds) {
			errs = append(errs, ds...)
		} else if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	seen := map[string]*Rule{}
	out := all[:0]
	for i := range all {
		r := &all[i]
		if first, dup := seen[r.ID]; dup {
			errs = append(errs, &config.Error{File: r.File, Line: r.Line, Key: "id",
				Msg: fmt.Sprintf("duplicate rule id %q (first at %s)", r.ID, first.Pos())})
			continue
		}
		seen[r.ID] = r
		out = append(out, *r)
	}
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}

// LoadFile reads and parses one rules file.
func LoadFile(path string) ([]Rule, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	if fi.Size() > maxFileSize {
		return nil, config.Errors{{File: path, Line: 1, Msg: fmt.Sprintf("file larger than %d bytes", maxFileSize)}}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return Parse(path, data)
}

// CheckFile validates a rules file or directory the way Compile would
// (including ids clashing with each other) and returns every problem with
// its position; nil means clean. I/O problems come back as one config.Error
// on line 1.
func CheckFile(path string) config.Errors {
	var rs []Rule
	var err error
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		rs, err = LoadDir(path)
	} else {
		rs, err = LoadFile(path)
	}
	if err != nil {
		var ds config.Errors
		if errors.As(err, &ds) {
			return ds
		}
		return config.Errors{{File: path, Line: 1, Msg: err.Error()}}
	}
	if _, err := Compile(rs, Options{}); err != nil {
		var ds config.Errors
		if errors.As(err, &ds) {
			return ds
		}
		return config.Errors{{File: path, Line: 1, Msg: err.Error()}}
	}
	return nil
}
