// Package rules evaluates user policies over flow records and turns matches
// into alerts. Policies are YAML (see Parse); they are compiled once into a tree of
// typed condition nodes so that evaluating a record costs a few nanoseconds
// per rule and allocates nothing unless a rule fires. The package also keeps
// per-key volume counters with EWMA baselines for threshold rules, and
// de-duplicates alerts so a chatty client cannot flood a SIEM. README.md in
// this directory is the rule language reference.
//
// It must not parse packets or read payload, and it never writes records: the
// pipeline calls Engine.Eval with a record.Flow and writes what it returns.
// Time is always packet time passed in by the caller; nothing here reads the
// clock, so replays are deterministic.
package rules
