// Package report turns tapdlp records (flows, alerts, volume windows) into
// one self-contained HTML page for people who would rather look than read:
// bytes out by category and by destination domain over time, top
// destinations per source, sensitive findings by type and destination
// category, alerts by rule and severity, and first-seen destinations — and,
// behind tabs on the same page, every alert (with flow_id and community_id
// to pivot on, filterable and sortable) and one view per role: engineer
// (per source: destinations, HTTP paths, volume over time, new
// destinations), compliance (findings by type, category and vendor) and
// CISO (alerts and denied attempts over time, top offending services,
// egress to unknown or DNS-unmatched destinations).
//
// It aggregates while streaming, so memory is bounded by Options (distinct
// keys per dimension, time buckets, cells) and not by the input size; what
// a cap refused is folded into "other" and counted on the page. It must not
// show raw sensitive values: it never reads a finding's evidence or hashes,
// only types, classes and counts, and every string from a record is
// untrusted and escaped by html/template. The page loads nothing from the
// network (inline CSS and SVG, a small inline script under a hash-pinned
// Content-Security-Policy), and it must not read the wall clock, so the same
// records always give the same bytes.
package report
