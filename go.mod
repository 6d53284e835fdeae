module github.com/tapdlp/tapdlp

go 1.26

require (
	github.com/VictoriaMetrics/metrics v1.35.1
	github.com/andybalholm/brotli v1.2.8
	github.com/cloudflare/ahocorasick v0.0.0-20240916140611-054963ec9396
	github.com/gopacket/gopacket v1.7.7
	github.com/klauspost/compress v1.20.3
	github.com/twmb/franz-go v1.22.2
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
	gopkg.in/yaml.v3 v3.0.1
)
