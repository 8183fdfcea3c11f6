#!/usr/bin/env bash
# bench/all.sh — every bench script, each side by side with its peers, and
# ONE table: work, hookrig, peer, ratio, goal (issue 16), met or not.
#
# Each script alternates hookrig and its peers round by round (ROUNDS
# rounds, medians) in one run, so that the ratios compare like with like on
# a shared machine; all.sh runs them one after the other and reads the
# RESULT line each prints last:
#   bench/chaos.sh       hookrig chaos vs nginx proxy_pass and toxiproxy
#                        (wrk -c64), then again with a CPU-bound neighbour
#   bench/loadgen.sh     hookrig bench vs wrk, hey, bombardier at maximum
#                        throughput; CPU-s at fixed 2,000 and 20,000 req/s vs
#                        bombardier, by default and with --precision 5ms
#                        (wrk2 is no Debian package: its row says so)
#   bench/reference.sh   reference receiver vs nginx `return 200`, both
#                        driven by `hookrig bench --secret`; --sync; sender
#                        end to end
#   sim                  go test -bench Virtual/day-long-outage ./sim/virtual
#                        (no peer: against the simulator's own goal)
# It installs the peers (wrk, nginx, hey from Debian; bombardier and
# toxiproxy with go install into ~/.cache/hookrig-bench).
#
# Time: 988 s (16.5 minutes) in full on a busy 2-core machine, about 6
# minutes with --quick (3 s rounds, smaller request counts, one sim run);
# every script runs under a timeout (TIMEOUT, 20 minutes each in full, 8
# with --quick), so the whole run is bounded (at most 5 x TIMEOUT). The
# scripts' own output goes to $LOGS (printed at the end).
#
#   bench/all.sh            # ROUNDS=3, 10 s rounds
#   bench/all.sh --quick    # ROUNDS=3, 3 s rounds
#   ROUNDS=5 bench/all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

quick=
case ${1:-} in
--quick) quick=1 ;;
"") ;;
*) echo "usage: bench/all.sh [--quick]" >&2; exit 2 ;;
esac
ROUNDS=${ROUNDS:-3}

. bench/lib.sh
need go golang-go
need curl curl
need wrk wrk
need nginx nginx
need hey hey
[ -x /usr/bin/time ] || need /usr/bin/time time
go_tool bombardier-v1.2.6 github.com/codesenberg/bombardier@v1.2.6 >/dev/null || echo "bombardier could not be built" >&2
go_tool toxiproxy-v2.5.0 github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0 >/dev/null || echo "toxiproxy could not be built" >&2

LOGS=${LOGS:-$(mktemp -d /tmp/hookrig-all.XXXXXX)}
mkdir -p "$LOGS"
if [ -n "$quick" ]; then
	TIMEOUT=${TIMEOUT:-480}
	chaos_env=(RUNS="$ROUNDS" DURATION=3s LAT_CONNS=0)
	loadgen_env=(ROUNDS="$ROUNDS" DURATION=3 LONG=0)
	reference_env=(RUNS="$ROUNDS" N_SINGLE=5000 N_BATCH=50000 N_E2E=10000 N_RECV=30000)
	sim_case=day-long-outage
	sim_count=1
else
	TIMEOUT=${TIMEOUT:-1200}
	chaos_env=(RUNS="$ROUNDS" DURATION=10s LAT_CONNS=0)
	loadgen_env=(ROUNDS="$ROUNDS" DURATION=10 LONG=0)
	reference_env=(RUNS="$ROUNDS")
	sim_case=day-long-outage
	sim_count=$ROUNDS
fi

# R[SCRIPT.KEY]: the values of each script's RESULT line.
declare -A R
# run NAME SCRIPT ENV...: run a bench script with ENV, its output in
# $LOGS/NAME.log, and keep its RESULT line's values as R[NAME.KEY].
run() {
	local name=$1 script=$2 kv
	shift 2
	echo "$(date -u +%T) $name: $script $*" >&2
	if ! env "$@" timeout "$TIMEOUT" bash "$script" >"$LOGS/$name.log" 2>&1; then
		echo "  $name failed or timed out; its log: $LOGS/$name.log" >&2
		tail -5 "$LOGS/$name.log" >&2
		return 0
	fi
	for kv in $(grep '^RESULT ' "$LOGS/$name.log" | tail -1 | cut -d' ' -f2-); do
		R[$name.${kv%%=*}]=${kv#*=}
	done
}

start_time=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
run chaos bench/chaos.sh "${chaos_env[@]}" TARGETS="chaos nginx toxiproxy"
run busy bench/chaos.sh "${chaos_env[@]}" TARGETS="chaos nginx" BUSY=1
run loadgen bench/loadgen.sh "${loadgen_env[@]}" RATES="2000 20000" PRECISION=5ms
run reference bench/reference.sh "${reference_env[@]}"

# sim: no peer simulates this; the median of ROUNDS runs (one with
# --quick) of the largest built-in, 18 million attempts a run.
echo "$(date -u +%T) sim: go test -bench Virtual/$sim_case" >&2
if timeout "$TIMEOUT" go test ./sim/virtual -run '^$' -bench "Virtual/$sim_case\$" -benchtime 1x -count "$sim_count" >"$LOGS/sim.log" 2>&1; then
	R[sim.attempts]=$(awk '/^BenchmarkVirtual/ { for (i = 1; i < NF; i++) if ($(i + 1) == "attempts/s") print $i }' "$LOGS/sim.log" | median)
else
	echo "  sim failed; its log: $LOGS/sim.log" >&2
fi

# ---- the table ----
v() { echo "${R[$1]:--}"; }
# row WORK HOOKRIG PEER_NAME PEER GOAL_OP GOAL [UNIT]: one line; the ratio
# is hookrig / peer; GOAL_OP is >= or <= (the ratio's goal) or "" (none).
rows=()
row() {
	local work=$1 h=$2 pname=$3 p=$4 op=$5 goal=$6
	local ratio met
	ratio=$(awk -v a="$h" -v b="$p" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }')
	if [ -z "$op" ]; then
		met="(no goal)"
	elif [ "$ratio" = - ]; then
		met="not measured"
	else
		met=$(awk -v r="$ratio" -v g="$goal" -v op="$op" 'BEGIN { ok = (op == ">=") ? r >= g : r <= g; print ok ? "met" : "NOT met" }')
	fi
	rows+=("$(printf '%-46s | %12s | %-30s | %6s | %-8s | %s' "$work" "$(fmt "$h")" "$pname $(fmt "$p")" "$ratio" "${op:+$op $goal}" "$met")")
}
fmt() { awk -v x="$1" 'BEGIN { if (x == "-") print "-"; else if (x + 0 >= 100) printf "%.0f", x; else printf "%.2f", x }'; }
# pct_off RATE ACHIEVED: how far achieved is from the rate, in percent.
pct_off() { awk -v r="$1" -v a="$2" 'BEGIN { if (a == "-") print "-"; else { d = (a - r) / r * 100; printf "%.3f", d < 0 ? -d : d } }'; }

row "chaos proxy, req/s (wrk -c64, no rules)" "$(v chaos.chaos_rps)" "nginx proxy_pass" "$(v chaos.nginx_rps)" ">=" 1.00
row "chaos proxy, req/s, CPU-bound neighbour" "$(v busy.chaos_rps)" "nginx proxy_pass" "$(v busy.nginx_rps)" ">=" 1.00
row "chaos proxy, CPU µs/req" "$(v chaos.chaos_cpu)" "nginx proxy_pass" "$(v chaos.nginx_cpu)" "" ""
row "chaos proxy, req/s vs an L4 proxy" "$(v chaos.chaos_rps)" "toxiproxy" "$(v chaos.toxiproxy_rps)" "" ""
row "loadgen max req/s (64 conns, 1 KB)" "$(v loadgen.max_hookrig_rps)" "wrk" "$(v loadgen.max_wrk_rps)" ">=" 1.00
row "loadgen max req/s" "$(v loadgen.max_hookrig_rps)" "bombardier" "$(v loadgen.max_bombardier_rps)" "" ""
row "loadgen max req/s" "$(v loadgen.max_hookrig_rps)" "hey" "$(v loadgen.max_hey_rps)" "" ""
for rate in 2000 20000; do
	row "loadgen $rate/s fixed, CPU-s per run" "$(v loadgen.fixed_${rate}_hookrig_cpu)" "bombardier" "$(v loadgen.fixed_${rate}_bombardier_cpu)" "<=" 1.00
	off=$(pct_off "$rate" "$(v loadgen.fixed_${rate}_hookrig_rps)")
	row "loadgen $rate/s pacing: % off the rate" "$off" "(goal, %)" 0.1 "<=" 1.00
	row "loadgen $rate/s pacing: lag p99, ms" "$(v loadgen.fixed_${rate}_hookrig_lag_p99)" "(goal, ms)" 1 "<=" 1.00
	row "loadgen $rate/s --precision 5ms, CPU-s" "$(v loadgen.fixed_${rate}_hookrig_coarse_cpu)" "bombardier" "$(v loadgen.fixed_${rate}_bombardier_cpu)" "<=" 1.00
	off=$(pct_off "$rate" "$(v loadgen.fixed_${rate}_hookrig_coarse_rps)")
	row "loadgen $rate/s --precision 5ms: % off" "$off" "(goal, %)" 0.1 "<=" 1.00
	# The coarse mode's bound: each request up to the 5 ms step late, on
	# top of whatever lag a wake-up has anyway (the default's, same run).
	bound=$(awk -v l="$(v loadgen.fixed_${rate}_hookrig_lag_p99)" 'BEGIN { if (l == "-") print "-"; else print 5 + l }')
	row "loadgen $rate/s --precision 5ms: lag p99, ms" "$(v loadgen.fixed_${rate}_hookrig_coarse_lag_p99)" "(5 + default's lag, ms)" "$bound" "<=" 1.00
done
rows+=("$(printf '%-46s | %12s | %-30s | %6s | %-8s | %s' "loadgen 2000/s fixed, CPU-s vs wrk2" "$(fmt "$(v loadgen.fixed_2000_hookrig_cpu)")" "wrk2 -" - "<= 1.00" "not measured: wrk2 is not a Debian package")")
row "receiver, verified webhooks/s (c64)" "$(v reference.receiver_rps)" "nginx return 200" "$(v reference.nginx_rps)" ">=" 0.75
row "receiver --sync, webhooks/s (c64)" "$(v reference.receiver_sync_rps)" "receiver, default" "$(v reference.receiver_rps)" ">=" 0.50
row "sender end to end, delivered/s" "$(v reference.e2e_rps)" "previous round" 16775 ">=" 2.00
row "sim (virtual), attempts/s, $sim_case" "$(v sim.attempts)" "(goal: a million)" 1000000 ">=" 1.00

elapsed=$(($(date +%s) - start_time))
echo
echo "bench/all.sh${quick:+ --quick}: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(go version | cut -d' ' -f3), medians of $ROUNDS alternating rounds, ${elapsed}s in all"
echo "machine SHARED with other work: load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after; ratios are same-run, absolute figures are not portable"
echo
printf '%-46s | %12s | %-30s | %6s | %-8s | %s\n' work hookrig peer ratio goal ""
printf '%s\n' "$(printf '%.0s-' $(seq 130))"
printf '%s\n' "${rows[@]}"
keep() { awk -v b="$1" -v q="$2" 'BEGIN { if (b == "-" || q == "-" || q + 0 == 0) print "-"; else printf "%.0f%%", b / q * 100 }'; }
echo "with a CPU-bound neighbour, chaos keeps $(keep "$(v busy.chaos_rps)" "$(v chaos.chaos_rps)") of its req/s, nginx $(keep "$(v busy.nginx_rps)" "$(v chaos.nginx_rps)")"
echo
echo "ratio = hookrig / peer (CPU rows: lower is better). Logs of each script: $LOGS"
