#!/usr/bin/env bash
# bench/chaos.sh — is hookrig's chaos proxy the bottleneck? (issue 3)
#
# In ONE run, alternating, it measures a small Go upstream that answers 200:
#   direct          wrk → upstream
#   chaos           wrk → hookrig chaos (no rules) → upstream
#   chaos-rules     wrk → hookrig chaos (rules loaded, none firing) → upstream
#   nginx           wrk → nginx proxy_pass with upstream keepalive → upstream
#   toxiproxy       wrk → toxiproxy (an L4 proxy: copies bytes, parses no
#                   HTTP) → upstream; built with go install when missing
# Throughput: wrk -t2 -c64 posting 62-byte JSON, median of RUNS runs.
# Latency: wrk -t2 -c8, median p50, and what each proxy adds to direct's.
# Goal: chaos ≥ 0.56× direct (nginx's ratio) and ≤ 0.1 ms added p50;
# chaos-rules within 10% of chaos. It also prints the CPU time each proxy
# spent per request during the throughput runs (from /proc): on a shared,
# noisy machine that varies far less than req/s does.
#
# TARGETS picks which of them run (direct always does: the ratios need it);
# BUSY=1 keeps one CPU-bound neighbour process (a shell busy loop) running
# through every measurement, to see what each proxy loses when it shares
# the cores; LAT_CONNS=0 skips the latency runs. BASE=PATH (a hookrig
# binary, e.g. built at the branch point) adds chaos-base, the same proxy
# run from that build, alternating with this tree's. Besides CPU per
# request it prints each proxy's thread context switches per request (from
# /proc/PID/task/*/status), and chaos's req/s over nginx's round by round:
# the two ran seconds apart, so that ratio moves less with the machine's
# other work than the ratio of the medians does. The last line is
# "RESULT name_rps=... name_cpu=... name_p50=..." for bench/all.sh.
#
#   bench/chaos.sh                      # RUNS=3 DURATION=10s
#   RUNS=5 DURATION=20s bench/chaos.sh
#   BUSY=1 TARGETS="chaos nginx" LAT_CONNS=0 bench/chaos.sh
#   BASE=/tmp/hookrig-old TARGETS="chaos nginx" LAT_CONNS=0 bench/chaos.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
LAT_CONNS=${LAT_CONNS:-8}
THREADS=${THREADS:-2}
TARGETS=${TARGETS:-chaos chaos-rules nginx toxiproxy}
BUSY=${BUSY:-}
BASE=${BASE:-}
[ -z "$BASE" ] || [ -x "$BASE" ] || { echo "BASE=$BASE: want the path of a hookrig binary" >&2; exit 2; }
[ -z "$BASE" ] || TARGETS="$TARGETS chaos-base"

. bench/lib.sh
need wrk wrk
need nginx nginx
need go golang-go

echo "building ..." >&2
go build -o "$tmp/hookrig" ./cmd/hookrig
go build -o "$tmp/upstream" ./bench/upstream
wants() { [[ " $TARGETS " == *" $1 "* ]]; }
if wants toxiproxy; then
	TOXIPROXY=$(go_tool toxiproxy-v2.5.0 github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0) ||
		{ echo "toxiproxy could not be built: left out" >&2; TARGETS=${TARGETS/toxiproxy/}; }
fi

start direct "$tmp/upstream"
up=${url[direct]}
wants chaos && start chaos "$tmp/hookrig" chaos --upstream "$up" --listen 127.0.0.1:0 --control 127.0.0.1:0 --seed 1
wants chaos-base && start chaos-base "$BASE" chaos --upstream "$up" --listen 127.0.0.1:0 --control 127.0.0.1:0 --seed 1
wants chaos-rules && start chaos-rules "$tmp/hookrig" chaos --upstream "$up" --listen 127.0.0.1:0 --control 127.0.0.1:0 --seed 1 --rules bench/chaos-not-firing.yaml

if wants toxiproxy; then
	# toxiproxy takes its proxies from a JSON file at start; no toxics.
	port=$("$tmp/upstream" -free-port)
	api=$("$tmp/upstream" -free-port)
	echo "[{\"name\":\"hook\",\"listen\":\"127.0.0.1:$port\",\"upstream\":\"${up#http://}\",\"enabled\":true}]" >"$tmp/toxiproxy.json"
	"$TOXIPROXY" -host 127.0.0.1 -port "$api" -config "$tmp/toxiproxy.json" >"$tmp/toxiproxy.err" 2>&1 &
	pid[toxiproxy]=$!
	pids+=($!)
	url[toxiproxy]=http://127.0.0.1:$port
	for _ in $(seq 500); do
		curl -s -o /dev/null "${url[toxiproxy]}/" && break
		sleep 0.02
	done
fi

port=$("$tmp/upstream" -free-port)
wants nginx && start_nginx nginx "$port" auto "
	upstream hook { server ${up#http://}; keepalive 64; }
	server {
		listen 127.0.0.1:$port;
		location / {
			proxy_pass http://hook;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
		}
	}"

# 62 bytes of JSON, like a small webhook.
body='{"type":"invoice.paid","id":"evt_0123456789","amount":4200}   '
[ ${#body} = 62 ] || { echo "body is ${#body} bytes" >&2; exit 1; }
cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA

targets=(direct)
for t in chaos chaos-base chaos-rules nginx toxiproxy; do wants "$t" && targets+=("$t"); done
if [ -n "$BUSY" ]; then
	# One CPU-bound neighbour, at the same priority as everything else.
	bash -c 'while :; do :; done' &
	pids+=($!)
	echo "a CPU-bound neighbour process is running (pid $!)" >&2
fi
for t in "${targets[@]}"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d "$body" "${url[$t]}/webhooks")
	[ "$code" = 200 ] || { echo "$t answered $code" >&2; exit 1; }
	wrk -t"$THREADS" -c"$CONNS" -d1s -s "$tmp/post.lua" "${url[$t]}/webhooks" >/dev/null # warm up
done

# to_us "123.45us" | "1.23ms" | "1.02s" -> microseconds
to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n }'; }
# ticks PID: CPU clock ticks (user + system) of PID and its children (nginx's
# workers). For "direct" it is the upstream's own.
ticks() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)
# switches PID: voluntary and involuntary context switches of every thread
# of PID and of its children, so far.
switches() {
	local p
	for p in "$1" $(pgrep -P "$1"); do
		cat /proc/"$p"/task/*/status 2>/dev/null
	done | awk '/ctxt_switches/ { s += $2 } END { print s + 0 }'
}

declare -A rps p50 cpu csw
for i in $(seq "$RUNS"); do
	# Rotate the order each run so no target always goes first.
	k=$(( (i - 1) % ${#targets[@]} ))
	order=("${targets[@]:$k}" "${targets[@]:0:$k}")
	for t in "${order[@]}"; do
		before=$(ticks "${pid[$t]}") sw=$(switches "${pid[$t]}")
		out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$tmp/post.lua" "${url[$t]}/webhooks")
		after=$(ticks "${pid[$t]}") sw=$(($(switches "${pid[$t]}") - sw))
		r=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
		n=$(awk '/requests in/ { print $1 }' <<<"$out")
		c=$(awk -v b="$before" -v a="$after" -v n="$n" -v hz="$hz" 'BEGIN { print (a - b) / hz * 1e6 / n }')
		cpu[$t]+="$c "
		csw[$t]+="$(awk -v s="$sw" -v n="$n" 'BEGIN { print s / n }') "
		errs=$(awk '/Non-2xx|Socket errors/' <<<"$out")
		[ -z "$errs" ] || echo "  $t: $errs" >&2
		rps[$t]+="$r "
		l=0
		if [ "$LAT_CONNS" != 0 ]; then
			out=$(wrk -t"$THREADS" -c"$LAT_CONNS" -d"$DURATION" --latency -s "$tmp/post.lua" "${url[$t]}/webhooks")
			l=$(awk '$1 == "50%" { print $2 }' <<<"$out")
			p50[$t]+="$(to_us "$l") "
		fi
		printf 'run %d %-12s %10.0f req/s  %5.1f us CPU/req  p50@c%d %8.1f us  load %s\n' "$i" "$t" "$r" "$c" "$LAT_CONNS" "$(to_us "$l")" "$(cut -d' ' -f1 /proc/loadavg)" >&2
	done
done

echo
echo "hookrig chaos vs direct vs nginx: wrk -t$THREADS -c$CONNS -d$DURATION (throughput), -c$LAT_CONNS (p50); median of $RUNS; $(nproc) cores${BUSY:+; a CPU-bound neighbour running}"
d_rps=$(tr ' ' '\n' <<<"${rps[direct]}" | grep . | median)
d_p50=$({ tr ' ' '\n' <<<"${p50[direct]:-}" | grep . || true; } | median)
c_rps=$({ tr ' ' '\n' <<<"${rps[chaos]:-}" | grep . || true; } | median)
printf '%-12s %12s %9s %12s %12s %14s %9s\n' target "req/s" "x direct" "p50@c$LAT_CONNS" "added p50" "CPU us/req" "cs/req"
for t in "${targets[@]}"; do
	m=$(tr ' ' '\n' <<<"${rps[$t]}" | grep . | median)
	l=$({ tr ' ' '\n' <<<"${p50[$t]:-}" | grep . || true; } | median)
	c=$(tr ' ' '\n' <<<"${cpu[$t]}" | grep . | median)
	s=$(tr ' ' '\n' <<<"${csw[$t]}" | grep . | median)
	awk -v t="$t" -v m="$m" -v d="$d_rps" -v l="$l" -v dl="$d_p50" -v c="$c" -v s="$s" \
		'BEGIN { printf "%-12s %12.0f %8.2fx %9.1f us %+9.1f us %11.1f %9.2f\n", t, m, m / d, l, l - dl, c, s }'
done
echo "(CPU us/req and cs/req, thread context switches: the upstream's for direct, the proxy's for the others)"
med() { { tr ' ' '\n' <<<"${1:-}" | grep . || true; } | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
if wants nginx && wants chaos; then
	echo "req/s:       chaos / nginx: $(ratio "$c_rps" "$(med "${rps[nginx]:-}")")   CPU per req: chaos / nginx: $(ratio "$(med "${cpu[chaos]:-}")" "$(med "${cpu[nginx]:-}")")"
fi
# per_round A B: A's req/s over B's in each run, and their median.
per_round() {
	local a=(${rps[$1]}) b=(${rps[$2]}) r=() i
	for i in "${!a[@]}"; do r+=("$(ratio "${a[$i]}" "${b[$i]}")"); done
	echo "${r[*]} (median $(printf '%s\n' "${r[@]}" | median))"
}
if wants nginx && wants chaos; then
	echo "chaos / nginx, run by run: $(per_round chaos nginx)"
fi
if wants chaos-base && wants chaos; then
	echo "chaos / chaos-base: $(ratio "$c_rps" "$(med "${rps[chaos-base]:-}")"), run by run: $(per_round chaos chaos-base)"
	wants nginx && echo "chaos-base / nginx: $(ratio "$(med "${rps[chaos-base]:-}")" "$(med "${rps[nginx]:-}")"), run by run: $(per_round chaos-base nginx)"
fi
wants chaos-rules && wants chaos && echo "chaos-rules / chaos: $(ratio "$(med "${rps[chaos-rules]:-}")" "$c_rps")"
wants toxiproxy && wants chaos && echo "chaos / toxiproxy: $(ratio "$c_rps" "$(med "${rps[toxiproxy]:-}")")"
line=()
for t in "${targets[@]}"; do
	k=${t//-/_}
	line+=("${k}_rps=$(med "${rps[$t]}")" "${k}_cpu=$(med "${cpu[$t]}")" "${k}_p50=$(med "${p50[$t]:-}")")
done
result busy=${BUSY:-0} "${line[@]}"
