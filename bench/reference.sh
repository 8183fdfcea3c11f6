#!/usr/bin/env bash
# bench/reference.sh — what the reference sender and receiver sustain on
# this machine (issue 2). Not a test: it prints figures, medians of RUNS
# rounds; each round runs every measurement once, in turn, on fresh data.
#
#   sender ingest    events/s accepted durably by POST /v1/events
#                    (answered only after the fsync), single events from
#                    64 concurrent clients and batches of 100 from 8
#   end to end       events/s delivered sender -> receiver, from the first
#                    ingest request to the last acknowledged delivery
#   receiver         signed webhooks/s verified and acknowledged, 64
#                    concurrent clients, with p50/p99 latency; the same
#                    with --sync (each 2xx waits for its receipt and dedupe
#                    entry to be fsynced); beside them
#                    nginx answering `return 200` to the same driver, as
#                    the ceiling of this driver and loopback on this machine
#
# Targets on 2 cores: >= 5,000 accepted/s, >= 3,000 delivered/s, >= 15,000
# verified req/s. The drivers share the machine with the servers, as any
# loopback benchmark does.
#
# Drivers: `hookrig bench` wherever it measures the same thing — single
# events into the sender (--ingest) and signed webhooks into the receiver
# and nginx (--secret, each with its own webhook-id). bench/refload stays
# for the two things hookrig bench does not do: ingest in batches (its
# ingest mode posts one event per request, while the sender's API takes a
# list) and end to end (it would have to wait, after its last request,
# until the sender reports every event delivered).
#
# The last line is "RESULT KEY=VALUE ..." (each measurement's median
# rate) for bench/all.sh.
#
# BASE=PATH (a hookrig binary, e.g. built at the branch point) runs the
# end-to-end row with that build's sender too, against the same receiver,
# in every round, the two builds taking turns to go first; it prints both
# rows, their ratio and each sender's CPU per delivered event (from
# /proc). On a machine shared with other work only such side-by-side
# figures compare builds.
#
# Usage: bench/reference.sh            (RUNS=5 N_SINGLE=30000 N_BATCH=200000 N_E2E=50000 N_RECV=100000 BASE=)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
N_SINGLE=${N_SINGLE:-30000}
N_BATCH=${N_BATCH:-200000}
N_E2E=${N_E2E:-50000}
N_RECV=${N_RECV:-100000}
BASE=${BASE:-}
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

. bench/lib.sh
need go golang-go
need curl curl
need nginx nginx || echo "nginx unavailable: no baseline" >&2

echo "building hookrig and the load driver..." >&2
go build -o "$tmp/hookrig" ./cmd/hookrig
go build -o "$tmp/refload" ./bench/refload
go build -o "$tmp/upstream" ./bench/upstream # for -free-port
H=$tmp/hookrig
L=$tmp/refload

# The event payload and webhook body every driver sends (refload's own).
printf '%s' '{"type":"invoice.paid","data":{"id":"in_1234567890","amount":4200,"currency":"eur","customer":"cus_0987654321"}}' >"$tmp/payload.json"

# endpoint SENDER_URL URL: create an endpoint delivering to URL, print its id.
endpoint() {
	curl -sf -X POST -H 'Content-Type: application/json' -d "{\"url\":\"$2\",\"secret\":\"$SECRET\"}" "$1/v1/endpoints" |
		grep -o '"id": *"[^"]*"' | head -1 | cut -d'"' -f4
}

# hbench ARGS...: a closed-loop hookrig bench run; prints
# "rate p50_ms p99_ms failed" like refload -tsv (rate: 2xx answers/s).
hbench() {
	"$H" bench "$@" --body "$tmp/payload.json" --quiet --report json --out "$tmp/bench.json" >/dev/null
	local f=$tmp/bench.json
	awk -v r="$(json_num "$f" rate_achieved)" -v s="$(json_num "$f" success)" -v n="$(json_num "$f" requests)" \
		-v p50="$(json_num "$f" p50)" -v p99="$(json_num "$f" p99)" \
		'BEGIN {printf "%.0f %s %s %d\n", r * s, p50, p99, n * (1 - s) + 0.5}'
}

declare -A results cpu
record() { results[$1]="${results[$1]:-} $2"; } # key, "rate p50 p99 failed"

for run in $(seq 1 "$RUNS"); do
	echo "round $run of $RUNS..." >&2

	# 1. Ingest: the sender accepts but does not deliver.
	start sender "$H" sender --listen 127.0.0.1:0 --data "$tmp/ingest-$run" --no-dispatch --quiet
	ep=$(endpoint "${url[sender]}" http://127.0.0.1:9/hooks)
	record ingest_single "$(hbench "${url[sender]}" --ingest "$ep" --type invoice.paid --keys 100 --concurrency 64 --requests "$N_SINGLE")"
	record ingest_batch "$("$L" ingest -tsv -sender "${url[sender]}" -endpoint "$ep" -n "$N_BATCH" -c 8 -batch 100)"
	stop sender

	# 2. End to end: sender (default policy) -> receiver with a journal.
	start receiver "$H" receiver --listen 127.0.0.1:0 --secret $SECRET --journal "$tmp/receipts-$run.jsonl" --quiet
	builds=(e2e:"$H")
	if [ -n "$BASE" ]; then
		if [ $((run % 2)) = 1 ]; then builds=(e2e:"$H" e2e_base:"$BASE"); else builds=(e2e_base:"$BASE" e2e:"$H"); fi
	fi
	for b in "${builds[@]}"; do
		key=${b%%:*}
		start sender "${b#*:}" sender --listen 127.0.0.1:0 --data "$tmp/$key-$run" --quiet
		ep=$(endpoint "${url[sender]}" "${url[receiver]}/hooks")
		record "$key" "$("$L" e2e -tsv -sender "${url[sender]}" -endpoint "$ep" -n "$N_E2E" -c 4 -batch 100)"
		# The sender's CPU (user + system) per event, accepting and delivering it.
		cpu[$key]="${cpu[$key]:-} $(awk -v n="$N_E2E" -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz / n * 1e6}' "/proc/${pid[sender]}/stat")"
		stop sender
	done

	# 3. Receiver alone, then nginx, same driver.
	record receiver "$(hbench "${url[receiver]}/hooks" --secret $SECRET --concurrency 64 --requests "$N_RECV")"
	stop receiver
	# The same with --sync: each 2xx waits for its receipt and dedupe
	# entry to be fsynced (shared by concurrent requests).
	start receiver "$H" receiver --listen 127.0.0.1:0 --secret $SECRET --journal "$tmp/receipts-sync-$run.jsonl" \
		--dedupe-store "$tmp/dedupe-sync-$run.log" --sync --quiet
	record receiver_sync "$(hbench "${url[receiver]}/hooks" --secret $SECRET --concurrency 64 --requests "$N_RECV")"
	stop receiver
	if command -v nginx >/dev/null; then
		port=$("$tmp/upstream" -free-port)
		start_nginx nginx "$port" 1 "	keepalive_requests 1000000;
	server { listen 127.0.0.1:$port; location / { return 200 '{}'; } }"
		record nginx "$(hbench "${url[nginx]}/hooks" --secret $SECRET --concurrency 64 --requests "$N_RECV")"
		stop nginx
	fi
	rm -rf "$tmp"/ingest-* "$tmp"/e2e-* "$tmp"/e2e_base-* "$tmp"/receipts-* "$tmp"/dedupe-*
done

# column COL KEY: one column of KEY's results, one a line.
column() { echo "${results[$2]}" | awk -v RS=' ' 'NF' | paste - - - - | awk -v c="$1" '{print $c}'; }
row() { # key label target
	printf "%-44s %10.0f /s   p50 %7.3f ms   p99 %7.3f ms   %s\n" "$2" "$(column 1 "$1" | median)" \
		"$(column 2 "$1" | median)" "$(column 3 "$1" | median)" "$3"
}

echo
echo "hookrig reference servers, medians of $RUNS rounds ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3))"
row ingest_single "sender: accepted durably, single (c=64)" "target >= 5,000 (hookrig bench --ingest)"
row ingest_batch "sender: accepted durably, batch 100 (c=8)" "target >= 5,000 (refload)"
row e2e "end to end: delivered sender->receiver" "target >= 3,000 (refload; latency: ingest requests)"
if [ -n "$BASE" ]; then
	row e2e_base "end to end, BASE's sender" "$BASE"
	awk -v a="$(column 1 e2e | median)" -v b="$(column 1 e2e_base | median)" \
		-v ca="$(echo "${cpu[e2e]}" | tr ' ' '\n' | median)" -v cb="$(echo "${cpu[e2e_base]}" | tr ' ' '\n' | median)" \
		'BEGIN {printf "end to end / BASE: %.2f; sender CPU per event %s us, BASE %s us\n", a/b, ca, cb}'
fi
row receiver "receiver: verified webhooks (c=64)" "target >= 15,000 (hookrig bench --secret)"
row receiver_sync "receiver --sync: acked once on disk (c=64)" "(receipt fsynced before each 2xx; it backs the dedupe store)"
if [ -n "${results[nginx]:-}" ]; then
	row nginx "nginx return 200, same driver (c=64)" "baseline"
	awk -v a="$(column 1 receiver | median)" -v b="$(column 1 nginx | median)" 'BEGIN {printf "receiver / nginx: %.2f\n", a/b}'
fi
failed=0
for k in "${!results[@]}"; do failed=$((failed + $(column 4 "$k" | awk '{s += $1} END {print s + 0}'))); done
[ "$failed" = 0 ] || echo "WARNING: $failed events or requests failed (see above); the rates count only the ones that succeeded"
line=()
for k in ingest_single ingest_batch e2e receiver receiver_sync nginx; do
	if [ -n "${results[$k]:-}" ]; then line+=("${k}_rps=$(column 1 "$k" | median)"); else line+=("${k}_rps=-"); fi
done
result failed=$failed "${line[@]}"
