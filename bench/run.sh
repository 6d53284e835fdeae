#!/usr/bin/env bash
# Replay benchmark: tapdlp replay on 1 core and on all cores, peak RSS, and
# ndpiReader on the same file for comparison. Usage:
#   go run ./bench/cmd/genmix -o /tmp/tapdlp-mix.pcap   # ~400 MB, deterministic
#   ./bench/run.sh /tmp/tapdlp-mix.pcap [runs]
# Prints one line per run; BENCHMARKS.md records the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
mix=${1:?usage: bench/run.sh MIX.pcap [runs]}
runs=${2:-3}
bin=$(mktemp -d)/tapdlp
CGO_ENABLED=0 go build -o "$bin" ./cmd/tapdlp
cat "$mix" >/dev/null # warm the page cache so every run reads from memory

run_tapdlp() { # label, GOMAXPROCS, extra args...
	local label=$1 procs=$2; shift 2
	for _ in $(seq "$runs"); do
		out=$( { GOMAXPROCS=$procs /usr/bin/time -f 'rss_kb=%M cpu=%P' "$bin" replay -o /dev/null "$@" "$mix"; } 2>&1 )
		sum=$(echo "$out" | grep 'tapdlp replay:' | sed 's/.*elapsed //')
		rss=$(echo "$out" | grep -o 'rss_kb=[0-9]*' | cut -d= -f2)
		cpu=$(echo "$out" | grep -o 'cpu=[0-9]*%' | cut -d= -f2)
		printf '%-22s %s  peak RSS %d MiB  CPU %s\n' "$label" "$sum" $((rss / 1024)) "$cpu"
	done
}

run_tapdlp "tapdlp 1 core" 1 --workers 1
run_tapdlp "tapdlp all cores" "$(nproc)"

if command -v ndpiReader >/dev/null; then
	for _ in $(seq "$runs"); do
		bytes=$(stat -c %s "$mix")
		start=$(date +%s.%N)
		/usr/bin/time -f 'rss_kb=%M' ndpiReader -q -i "$mix" -n 1 >/dev/null 2>/tmp/ndpi.time || true
		end=$(date +%s.%N)
		awk -v b="$bytes" -v s="$start" -v e="$end" -v r="$(grep -o 'rss_kb=[0-9]*' /tmp/ndpi.time | cut -d= -f2)" \
			'BEGIN { t = e - s; printf "%-22s elapsed %.3fs, %.2f Gbit/s (file bytes, wall clock)  peak RSS %d MiB\n", "ndpiReader 1 thread", t, b*8/t/1e9, r/1024 }'
	done
else
	echo "ndpiReader not installed (apt-get install libndpi-bin) — skipped"
fi
