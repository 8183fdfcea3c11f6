#!/usr/bin/env bash
# bench/loadgen.sh — is `hookrig bench` as fast and as light as the tools it
# replaces? (issue 4)
#
# In ONE run, against one Go server answering 200 (bench/upstream),
# posting the same 1 KB JSON body:
#   max throughput   hookrig (unsigned), hookrig --secret (signed), wrk, hey,
#                    bombardier — closed loop, CONNS connections, DURATION
#                    each, alternating, ROUNDS rounds, medians
#   fixed rate       hookrig --rate RATE vs bombardier --rate RATE (and wrk2
#                    when it is installed: it is no Debian package), DURATION
#                    each, ROUNDS rounds: achieved rate and tool CPU-s
#   flat memory      hookrig --rate RATE for SHORT and for LONG: max RSS
# Each tool's CPU (user+sys) and max RSS come from /usr/bin/time -v.
# Goals: hookrig ≥ bombardier and ≥ 0.8× wrk at max throughput; at the fixed
# rate, achieved within 0.1% and CPU ≤ wrk2's (0.70 CPU-s on the issue's
# machine); signed ≥ 0.85× unsigned; LONG's RSS within a few MB of SHORT's.
#
# PRECISION (e.g. 5ms) adds hookrig-coarse to the fixed-rate runs:
# hookrig bench --precision PRECISION, which wakes on that grid instead of
# at each request's own time (less CPU, each request up to PRECISION late).
# BASE=PATH (a hookrig binary, e.g. built at the branch point) adds
# hookrig-base to the fixed-rate runs, alternating with this tree's build.
# RATES lists the fixed rates (each measured ROUNDS times, alternating);
# LONG=0 skips the memory runs. The last line is "RESULT KEY=VALUE ..."
# for bench/all.sh (max_TOOL_rps, fixed_RATE_TOOL_cpu and _rps, lag p99).
#
#   bench/loadgen.sh                              # ROUNDS=3 DURATION=10 LONG=600 RATES=2000
#   ROUNDS=5 LONG=120 bench/loadgen.sh
#   LONG=0 RATES="2000 20000" bench/loadgen.sh
#   LONG=0 RATES="2000 20000" BASE=/tmp/hookrig-old bench/loadgen.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}  # seconds
CONNS=${CONNS:-64}
RATE=${RATE:-2000}
RATES=${RATES:-$RATE}
PRECISION=${PRECISION:-}
BASE=${BASE:-}
SHORT=${SHORT:-30}        # seconds
LONG=${LONG:-600}         # seconds: the issue's 10-minute run
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

. bench/lib.sh
need go golang-go
need wrk wrk
need hey hey
[ -x /usr/bin/time ] || need /usr/bin/time time

echo "building ..." >&2
go build -o "$tmp/hookrig" ./cmd/hookrig
go build -o "$tmp/upstream" ./bench/upstream
# bombardier (the issue's reference for Go tools) is a Go program, not a
# Debian package: built from its module, at the version the issue measured.
BOMBARDIER=$(command -v bombardier-go || go_tool bombardier-v1.2.6 github.com/codesenberg/bombardier@v1.2.6 || true)
[ -n "$BOMBARDIER" ] || echo "bombardier could not be built: left out" >&2
WRK2=$(command -v wrk2 || true)

start target "$tmp/upstream" -answer '{"ok":true}' -type application/json
target=${url[target]}/hook

# The body: 1 KB of webhook-shaped JSON, the same bytes for every tool.
pad=$(head -c 900 /dev/zero | tr '\0' x)
printf '{"type":"invoice.paid","id":"evt_1","timestamp":"2026-01-01T00:00:00Z","data":{"amount":4200,"pad":"%s"}}' "$pad" | head -c 1024 >"$tmp/body.json"
body_len=$(wc -c <"$tmp/body.json")
# keep it valid JSON whatever the cut
printf '{"type":"invoice.paid","id":"evt_1","timestamp":"2026-01-01T00:00:00Z","data":{"amount":4200,"pad":"%s"}}' \
	"$(head -c $((900 - (body_len - 1024))) /dev/zero | tr '\0' x)" >"$tmp/body.json"
cat >"$tmp/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$tmp/body.json", "rb")
wrk.body = f:read("*a")
f:close()
EOF

# measure NAME CMD...: run CMD under /usr/bin/time; append "rps cpu_s rss_kb"
# to $res/NAME.
res=$tmp/results
mkdir -p "$res"
measure() {
	local name=$1; shift
	/usr/bin/time -v -o "$tmp/time.txt" "$@" >"$tmp/out.txt" 2>&1 || { echo "$name failed:" >&2; tail -5 "$tmp/out.txt" >&2; return 1; }
	local user sys rss rps
	user=$(awk -F': ' '/User time/ {print $2}' "$tmp/time.txt")
	sys=$(awk -F': ' '/System time/ {print $2}' "$tmp/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.txt")
	case $name in
	hookrig*) rps=$(json_num "$tmp/result.json" rate_achieved) ;;
	wrk*) rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/out.txt") ;;
	hey) rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/out.txt") ;;
	bombardier*)
		local n t
		n=$(grep -o '"req2xx":[0-9]*' "$tmp/out.txt" | cut -d: -f2)
		t=$(grep -o '"timeTakenSeconds":[0-9.e+-]*' "$tmp/out.txt" | cut -d: -f2)
		rps=$(awk -v n="$n" -v t="$t" 'BEGIN {printf "%.1f", n / t}') ;;
	esac
	echo "$rps $(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}') $rss" >>"$res/$name"
	printf '  %-18s %10.0f req/s  %6.2f CPU-s  %7d KB\n' "$name" "$rps" "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')" "$rss" >&2
}

column_median() { # file column
	awk -v c="$2" '{print $c}' "$1" | median
}

hookrig=("$tmp/hookrig" bench "$target" --body "$tmp/body.json" --quiet --report json --out "$tmp/result.json")
max_tools=(hookrig hookrig-signed wrk hey)
[ -n "$BOMBARDIER" ] && max_tools+=(bombardier)
run_max() {
	case $1 in
	hookrig) measure hookrig "${hookrig[@]}" --concurrency "$CONNS" --duration "${DURATION}s" ;;
	hookrig-signed) measure hookrig-signed "${hookrig[@]}" --concurrency "$CONNS" --duration "${DURATION}s" --secret "$SECRET" ;;
	wrk) measure wrk wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$tmp/post.lua" "$target" ;;
	hey) measure hey hey -z "${DURATION}s" -c "$CONNS" -m POST -T application/json -D "$tmp/body.json" "$target" ;;
	bombardier) measure bombardier "$BOMBARDIER" -c "$CONNS" -d "${DURATION}s" -m POST -f "$tmp/body.json" \
		-H "Content-Type: application/json" -p r -o json "$target" ;;
	esac
}

echo "max throughput: $CONNS connections, ${DURATION}s each, $ROUNDS rounds ($(nproc) cores, $(uptime | sed 's/.*load/load/'))" >&2
for r in $(seq "$ROUNDS"); do
	echo "round $r" >&2
	# Rotate the order each round so no tool always runs first.
	n=${#max_tools[@]}
	for i in $(seq 0 $((n - 1))); do run_max "${max_tools[$(((i + r - 1) % n))]}"; done
done

fixed_tools=(hookrig-fixed)
[ -n "$BASE" ] && fixed_tools+=(hookrig-base-fixed)
[ -n "$PRECISION" ] && fixed_tools+=(hookrig-coarse)
[ -n "$BOMBARDIER" ] && fixed_tools+=(bombardier-fixed)
[ -n "$WRK2" ] && fixed_tools+=(wrk2-fixed)
# run_fixed TOOL RATE: results go to $res/TOOL-RATE.
declare -A lag
lag_p99() { grep -A9 '"scheduler_lag"' "$tmp/result.json" | grep -o '"p99": *[0-9.]*' | head -1 | grep -o '[0-9.]*$' || true; }
run_fixed() {
	case $1 in
	hookrig-fixed)
		measure "hookrig-fixed-$2" "${hookrig[@]}" --rate "$2" --duration "${DURATION}s"
		lag[$2]+="$(lag_p99) " ;;
	hookrig-base-fixed)
		measure "hookrig-base-fixed-$2" "$BASE" "${hookrig[@]:1}" --rate "$2" --duration "${DURATION}s"
		lag[base-$2]+="$(lag_p99) " ;;
	hookrig-coarse)
		measure "hookrig-coarse-$2" "${hookrig[@]}" --rate "$2" --duration "${DURATION}s" --precision "$PRECISION"
		lag[coarse-$2]+="$(lag_p99) " ;;
	bombardier-fixed) measure "bombardier-fixed-$2" "$BOMBARDIER" -c "$CONNS" -d "${DURATION}s" --rate "$2" -m POST \
		-f "$tmp/body.json" -H "Content-Type: application/json" -p r -o json "$target" ;;
	wrk2-fixed) measure "wrk2-fixed-$2" "$WRK2" -t2 -c"$CONNS" -d"${DURATION}s" -R"$2" -s "$tmp/post.lua" "$target" ;;
	esac
}
for rate in $RATES; do
	echo "fixed rate: $rate req/s, ${DURATION}s each, $ROUNDS rounds" >&2
	for r in $(seq "$ROUNDS"); do
		n=${#fixed_tools[@]}
		for i in $(seq 0 $((n - 1))); do run_fixed "${fixed_tools[$(((i + r - 1) % n))]}" "$rate"; done
	done
done

if [ "$LONG" != 0 ]; then
	echo "flat memory: $RATE req/s for ${SHORT}s, then for ${LONG}s" >&2
	measure hookrig-short "${hookrig[@]}" --rate "$RATE" --duration "${SHORT}s"
	conns_short=$(json_num "$tmp/result.json" connections)
	measure hookrig-long "${hookrig[@]}" --rate "$RATE" --duration "${LONG}s"
	conns_long=$(json_num "$tmp/result.json" connections)
fi

# ---- the table ----
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
echo
echo "hookrig bench vs peers — 1 KB JSON POST to a Go server answering 200, $(nproc) cores, medians of $ROUNDS"
echo
printf '%-16s %12s %14s %12s %12s\n' "max throughput" "req/s" "vs hookrig" "CPU µs/req" "max RSS MB"
for t in "${max_tools[@]}"; do
	rps=$(column_median "$res/$t" 1) cpu=$(column_median "$res/$t" 2) rss=$(column_median "$res/$t" 3)
	printf '%-16s %12.0f %14s %12.1f %12.1f\n' "$t" "$rps" "$(ratio "$rps" "$(column_median "$res/hookrig" 1)")" \
		"$(awk -v c="$cpu" -v r="$rps" -v d="$DURATION" 'BEGIN {print c * 1e6 / (r * d)}')" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
done
h=$(column_median "$res/hookrig" 1)
echo
echo "hookrig / wrk            $(ratio "$h" "$(column_median "$res/wrk" 1)")   (goal ≥ 0.80)"
[ -n "$BOMBARDIER" ] && echo "hookrig / bombardier     $(ratio "$h" "$(column_median "$res/bombardier" 1)")   (goal ≥ 1.00)"
echo "hookrig / hey            $(ratio "$h" "$(column_median "$res/hey" 1)")"
echo "signed / unsigned        $(ratio "$(column_median "$res/hookrig-signed" 1)" "$h")   (goal ≥ 0.85: signing costs < 15%)"
cpu_req() { awk -v c="$(column_median "$res/$1" 2)" -v r="$(column_median "$res/$1" 1)" -v d="$DURATION" 'BEGIN {print c * 1e6 / (r * d)}'; }
echo "signing, in tool CPU      $(awk -v s="$(cpu_req hookrig-signed)" -v u="$(cpu_req hookrig)" 'BEGIN {printf "%+.0f%%", (s / u - 1) * 100}') per request (less noisy than throughput on a shared machine)"
echo
for rate in $RATES; do
	printf '%-16s %12s %14s %12s %12s\n' "fixed $rate/s" "achieved/s" "off by" "CPU-s" "max RSS MB"
	for t in "${fixed_tools[@]}"; do
		f=$res/$t-$rate
		rps=$(column_median "$f" 1) cpu=$(column_median "$f" 2) rss=$(column_median "$f" 3)
		printf '%-16s %12.1f %13.3f%% %12.2f %12.1f\n' "$t" "$rps" "$(awk -v a="$rps" -v r="$rate" 'BEGIN {d = (a - r) / r * 100; print (d < 0 ? -d : d)}')" \
			"$cpu" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
	done
	echo "hookrig scheduler lag p99 at $rate/s (median of its runs): $(tr ' ' '\n' <<<"${lag[$rate]}" | grep . | median) ms"
	[ -n "$BASE" ] && echo "BASE scheduler lag p99 at $rate/s: $(tr ' ' '\n' <<<"${lag[base-$rate]}" | grep . | median) ms"
	[ -n "$PRECISION" ] && echo "hookrig --precision $PRECISION scheduler lag p99 at $rate/s: $(tr ' ' '\n' <<<"${lag[coarse-$rate]}" | grep . | median) ms"
done
[ -n "$WRK2" ] || echo "wrk2: not installed (not a Debian package); the issue measured it at 0.70 CPU-s at 2,000/s for 10 s"
if [ "$LONG" != 0 ]; then
	echo
	echo "flat memory: max RSS at $RATE req/s, ${SHORT}s $(awk -v k="$(column_median "$res/hookrig-short" 3)" 'BEGIN {printf "%.1f", k / 1024}') MB" \
		"($conns_short connections), ${LONG}s $(awk -v k="$(column_median "$res/hookrig-long" 3)" 'BEGIN {printf "%.1f", k / 1024}') MB ($conns_long connections)"
	echo "(memory grows with connections — at most --concurrency, opened when the target is slow — not with requests)"
fi
line=()
for t in "${max_tools[@]}"; do line+=("max_${t//-/_}_rps=$(column_median "$res/$t" 1)" "max_${t//-/_}_cpu=$(column_median "$res/$t" 2)"); done
for rate in $RATES; do
	for t in "${fixed_tools[@]}"; do
		k=${t%-fixed}
		k=${k//-/_}
		line+=("fixed_${rate}_${k}_rps=$(column_median "$res/$t-$rate" 1)" "fixed_${rate}_${k}_cpu=$(column_median "$res/$t-$rate" 2)")
	done
	line+=("fixed_${rate}_hookrig_lag_p99=$(tr ' ' '\n' <<<"${lag[$rate]}" | grep . | median)")
	[ -n "$PRECISION" ] && line+=("fixed_${rate}_hookrig_coarse_lag_p99=$(tr ' ' '\n' <<<"${lag[coarse-$rate]}" | grep . | median)")
done
result duration=$DURATION "${line[@]}"
