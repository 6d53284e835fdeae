# Build with version information; `go build ./cmd/tapdlp` works too (version "dev").
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: build test bench fuzz
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o tapdlp ./cmd/tapdlp
test:
	go test ./...
fuzz:
	.ci/fuzz
bench:
	go run ./bench/cmd/genmix -o /tmp/tapdlp-mix.pcap && ./bench/run.sh /tmp/tapdlp-mix.pcap
