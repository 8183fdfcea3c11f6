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
#                    concurrent clients, with p50/p99 latency; beside it
#                    nginx answering `return 200` to the same driver, as
#                    the ceiling of this driver and loopback on this machine
#
# Targets on 2 cores: >= 5,000 accepted/s, >= 3,000 delivered/s, >= 15,000
# verified req/s. The load driver (bench/refload, a small Go program that
# signs every webhook with its own id) shares the machine with the servers,
# as any loopback benchmark does; once `hookrig bench` (the load generator,
# issue 4) has an ingest mode and a stable output, it should replace refload
# here.
#
# Usage: bench/reference.sh            (RUNS=5 N_SINGLE=30000 N_BATCH=200000 N_E2E=50000 N_RECV=100000)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
N_SINGLE=${N_SINGLE:-30000}
N_BATCH=${N_BATCH:-200000}
N_E2E=${N_E2E:-50000}
N_RECV=${N_RECV:-100000}
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

if ! command -v nginx >/dev/null; then
	echo "installing nginx (the receiver's baseline)..." >&2
	(apt-get update -qq && apt-get install -y -qq nginx >/dev/null) || echo "nginx unavailable: no baseline" >&2
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "building hookrig and the load driver..." >&2
go build -o "$work/hookrig" ./cmd/hookrig
go build -o "$work/refload" ./bench/refload
H=$work/hookrig
L=$work/refload

# start NAME ARGS...: runs a server, waits for its "listening on" line,
# sets $url and remembers the pid.
start() {
	local name=$1
	shift
	"$@" >"$work/$name.out" 2>"$work/$name.err" &
	pids+=($!)
	pid=$!
	for _ in $(seq 1 500); do
		if url=$(grep -o 'http://[0-9.:]*' "$work/$name.out" 2>/dev/null | head -1) && [ -n "$url" ]; then
			return
		fi
		sleep 0.01
	done
	echo "$name did not start: $(cat "$work/$name.err")" >&2
	exit 1
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

nginx_start() {
	local port
	port=$("$L" freeport)
	mkdir -p "$work/nginx"
	cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $work/nginx/body;
	proxy_temp_path $work/nginx/proxy;
	fastcgi_temp_path $work/nginx/fastcgi;
	uwsgi_temp_path $work/nginx/uwsgi;
	scgi_temp_path $work/nginx/scgi;
	keepalive_requests 1000000;
	server { listen 127.0.0.1:$port; location / { return 200 '{}'; } }
}
CONF
	nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' 2>>"$work/nginx/error.log" &
	pids+=($!)
	pid=$!
	url=http://127.0.0.1:$port
	for _ in $(seq 1 500); do
		curl -s -o /dev/null "$url/" && return
		sleep 0.01
	done
	echo "nginx did not start: $(cat "$work/nginx/error.log")" >&2
	exit 1
}

declare -A results
record() { results[$1]="${results[$1]:-} $2"; } # key, "rate p50 p99 failed"

for run in $(seq 1 "$RUNS"); do
	echo "round $run of $RUNS..." >&2

	# 1. Ingest: the sender accepts but does not deliver.
	start sender "$H" sender --listen 127.0.0.1:0 --data "$work/ingest-$run" --no-dispatch --quiet
	spid=$pid surl=$url
	ep=$("$L" endpoint -sender "$surl" -url http://127.0.0.1:9/hooks -secret $SECRET)
	record ingest_single "$("$L" ingest -tsv -sender "$surl" -endpoint "$ep" -n "$N_SINGLE" -c 64 -batch 1)"
	record ingest_batch "$("$L" ingest -tsv -sender "$surl" -endpoint "$ep" -n "$N_BATCH" -c 8 -batch 100)"
	stop "$spid"

	# 2. End to end: sender (default policy) -> receiver with a journal.
	start receiver "$H" receiver --listen 127.0.0.1:0 --secret $SECRET --journal "$work/receipts-$run.jsonl" --quiet
	rpid=$pid rurl=$url
	start sender "$H" sender --listen 127.0.0.1:0 --data "$work/e2e-$run" --quiet
	spid=$pid surl=$url
	ep=$("$L" endpoint -sender "$surl" -url "$rurl/hooks" -secret $SECRET)
	record e2e "$("$L" e2e -tsv -sender "$surl" -endpoint "$ep" -n "$N_E2E" -c 4 -batch 100)"
	stop "$spid"

	# 3. Receiver alone, then nginx, same driver.
	record receiver "$("$L" webhooks -tsv -url "$rurl/hooks" -secret $SECRET -n "$N_RECV" -c 64)"
	stop "$rpid"
	if command -v nginx >/dev/null; then
		nginx_start
		npid=$pid
		record nginx "$("$L" webhooks -tsv -url "$url/hooks" -secret $SECRET -n "$N_RECV" -c 64)"
		stop "$npid"
	fi
	rm -rf "$work"/ingest-* "$work"/e2e-* "$work"/receipts-*
done

# median COLUMN KEY: the median of one column over the runs.
median() {
	local col=$1 key=$2
	echo "${results[$key]}" | awk -v RS=' ' 'NF' | tr ' ' '\n' | paste - - - - | awk -v c="$col" '{print $c}' |
		sort -g | awk '{v[NR]=$1} END {if (NR==0) {print "-"; exit} m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; print m}'
}
row() { # key label target
	printf "%-44s %10.0f /s   p50 %7.3f ms   p99 %7.3f ms   %s\n" "$2" "$(median 1 "$1")" "$(median 2 "$1")" "$(median 3 "$1")" "$3"
}

echo
echo "hookrig reference servers, medians of $RUNS rounds ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3))"
row ingest_single "sender: accepted durably, single (c=64)" "target >= 5,000"
row ingest_batch "sender: accepted durably, batch 100 (c=8)" "target >= 5,000"
row e2e "end to end: delivered sender->receiver" "target >= 3,000 (latency: ingest requests)"
row receiver "receiver: verified webhooks (c=64)" "target >= 15,000"
if [ -n "${results[nginx]:-}" ]; then
	row nginx "nginx return 200, same driver (c=64)" "baseline"
	awk -v a="$(median 1 receiver)" -v b="$(median 1 nginx)" 'BEGIN {printf "receiver / nginx: %.2f\n", a/b}'
fi
