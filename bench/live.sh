#!/usr/bin/env bash
# Live-capture benchmark: tcpreplay the benchmark mix onto a veth pair at
# increasing rates while `tapdlp run` captures the other end; report, per
# rate, what tcpreplay achieved, what the kernel delivered and dropped, and
# the sensor's CPU time per Gbit/s; then the same for `tapdlp replay` of the
# file, and ndpiReader capturing the same replay when installed.
# Needs root (veth, AF_PACKET) and tcpreplay. Usage:
#   go run ./bench/cmd/genmix -o /tmp/tapdlp-mix.pcap   # ~400 MB, deterministic
#   sudo ./bench/live.sh /tmp/tapdlp-mix.pcap [MBPS...|top]
# Default rates: 250 500 1000 2000 top. SENSOR_ARGS adds flags to `tapdlp
# run` (e.g. "-workers 1 -ring-size 8MiB": a small ring shows sustained
# capacity rather than burst absorption). SENSOR_CPUS and REPLAY_CPUS pin
# the sensor and tcpreplay with taskset (e.g. 1 and 0: one core each; Go
# then runs one worker and one socket). BENCHMARKS.md records the result.
# tcpreplay runs on the same machine and competes for the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."
mix=${1:?usage: bench/live.sh MIX.pcap [MBPS...|top]}
shift
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(250 500 1000 2000 top)
[ "$(id -u)" = 0 ] || { echo "bench/live.sh: needs root" >&2; exit 1; }
command -v tcpreplay >/dev/null || { echo "bench/live.sh: tcpreplay not installed" >&2; exit 1; }

work=$(mktemp -d)
tx=tdbtx$$ rx=tdbrx$$
cleanup() { ip link del "$tx" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
bin=$work/tapdlp
CGO_ENABLED=0 go build -o "$bin" ./cmd/tapdlp
cat "$mix" >/dev/null # page cache: tcpreplay must not wait for the disk
ip link add "$tx" mtu 9000 type veth peer name "$rx" mtu 9000
for d in "$tx" "$rx"; do
	echo 1 >"/proc/sys/net/ipv6/conf/$d/disable_ipv6" 2>/dev/null || true
	ip link set "$d" up
done
sleep 1

mix_bytes=$(stat -c %s "$mix")
pin_sensor=() pin_replay=()
[ -z "${SENSOR_CPUS:-}" ] || pin_sensor=(taskset -c "$SENSOR_CPUS")
[ -z "${REPLAY_CPUS:-}" ] || pin_replay=(taskset -c "$REPLAY_CPUS")

run_rate() { # rate in Mbit/s, or "top"
	local rate=$1 speed
	if [ "$rate" = top ]; then speed=(--topspeed); else speed=(--mbps="$rate"); fi
	"${pin_sensor[@]}" /usr/bin/time -f 'cpu_user=%U cpu_sys=%S rss_kb=%M' "$bin" run -i "$rx" -o /dev/null -status 0 ${SENSOR_ARGS:-} \
		2>"$work/sensor.err" &
	local pid=$!
	until grep -q 'msg=capturing' "$work/sensor.err" 2>/dev/null; do sleep 0.05; done
	"${pin_replay[@]}" tcpreplay -q -K "${speed[@]}" -i "$tx" "$mix" >"$work/replay.out" 2>&1
	sleep 0.5
	kill -INT "$(pgrep -P "$pid" -x tapdlp)"
	wait "$pid" || true
	local achieved kp kd user sys rss
	achieved=$(grep -o 'Rated: [0-9.]* Bps, [0-9.]* Mbps' "$work/replay.out" | awk '{print $4}')
	kp=$(grep -o 'kernel packets [0-9]*' "$work/sensor.err" | awk '{print $3}')
	kd=$(grep -o 'kernel drops [0-9]*' "$work/sensor.err" | awk '{print $3}')
	user=$(grep -o 'cpu_user=[0-9.]*' "$work/sensor.err" | cut -d= -f2)
	sys=$(grep -o 'cpu_sys=[0-9.]*' "$work/sensor.err" | cut -d= -f2)
	rss=$(grep -o 'rss_kb=[0-9]*' "$work/sensor.err" | cut -d= -f2)
	awk -v r="$rate" -v a="$achieved" -v kp="$kp" -v kd="$kd" -v u="$user" -v s="$sys" -v b="$mix_bytes" -v rss="$rss" 'BEGIN {
		gbit = b * 8 / 1e9
		printf "live %-5s achieved %7.0f Mbit/s  kernel packets %8d  drops %8d (%.2f%%)  CPU %.1fs  %.2f CPU-s per Gbit  RSS %d MiB\n",
			r, a, kp, kd, (kp > 0 ? 100 * kd / kp : 0), u + s, (u + s) / gbit, rss / 1024 }'
}

for r in "${rates[@]}"; do run_rate "$r"; done

"${pin_sensor[@]}" /usr/bin/time -f 'cpu_user=%U cpu_sys=%S' "$bin" replay -o /dev/null "$mix" 2>"$work/replay.err"
sum=$(grep 'tapdlp replay:' "$work/replay.err" | sed 's/.*elapsed //')
user=$(grep -o 'cpu_user=[0-9.]*' "$work/replay.err" | cut -d= -f2)
sys=$(grep -o 'cpu_sys=[0-9.]*' "$work/replay.err" | cut -d= -f2)
awk -v u="$user" -v s="$sys" -v b="$mix_bytes" -v sum="$sum" 'BEGIN {
	printf "replay  elapsed %s  CPU %.1fs  %.2f CPU-s per Gbit\n", sum, u + s, (u + s) / (b * 8 / 1e9) }'

if command -v ndpiReader >/dev/null; then
	# ndpiReader stops by itself after -s seconds: the replay time plus a margin.
	rate=${NDPI_MBPS:-500}
	secs=$(awk -v b="$mix_bytes" -v r="$rate" 'BEGIN { printf "%d", b * 8 / (r * 1e6) + 8 }')
	"${pin_sensor[@]}" /usr/bin/time -f 'cpu_user=%U cpu_sys=%S' ndpiReader -i "$rx" -s "$secs" >"$work/ndpi.out" 2>&1 &
	npid=$!
	sleep 2
	"${pin_replay[@]}" tcpreplay -q -K --mbps="$rate" -i "$tx" "$mix" >"$work/replay.out" 2>&1
	wait "$npid" || true
	achieved=$(grep -o 'Rated: [0-9.]* Bps, [0-9.]* Mbps' "$work/replay.out" | awk '{print $4}')
	seen=$(grep -o 'of [0-9]* packets total' "$work/ndpi.out" | awk '{print $2}')
	cpu=$(awk -F'[= ]' '/cpu_user/ { print $2 + $4 }' "$work/ndpi.out")
	echo "ndpiReader -i at ${achieved:-?} Mbit/s: packets seen ${seen:-?} of $(grep -o 'kernel packets [0-9]*' "$work/sensor.err" | awk '{print $3}'), CPU ${cpu:-?}s"
else
	echo "ndpiReader not installed — skipped"
fi
