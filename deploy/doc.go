// Package deploy holds tapdlp's packaging: the Compose file, the systemd
// unit, the Kubernetes DaemonSet and a sample configuration (the Dockerfile
// is at the repository root). It has no code; its tests check the security
// settings those files promise (capabilities, non-root, host network,
// probes) so an edit cannot silently drop one. It must not hold anything
// the binary needs at run time.
package deploy
