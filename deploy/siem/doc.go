// Package siem holds tested examples of shipping tapdlp's SIEM formats:
// a Filebeat configuration with an Elasticsearch index template for the
// ECS output, and a Splunk props.conf for the ECS and EVE outputs. It has
// no code; its tests check that the files parse and that every field they
// name is one tapdlp writes (README "Outputs for SIEMs").
package siem
