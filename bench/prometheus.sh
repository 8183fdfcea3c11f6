#!/usr/bin/env bash
# bench/prometheus.sh — a real Prometheus scraping hookrig (issue 14).
#
# Starts the reference receiver, the chaos proxy in front of it (a rule
# answering 10% of requests 503) and the reference sender delivering
# through it, all on 127.0.0.1; runs Debian's prometheus (installed when
# missing) with its own config and data directory under $tmp, scraping
# the three /metrics every second; posts events into the sender with
# `hookrig bench --ingest` for DURATION; then prints PromQL answers from
# Prometheus's HTTP API (delivered/s as the receiver and the sender see
# them, attempts by outcome, faults by rule) and `promtool check metrics`
# on each /metrics. Not part of .ci/run: it installs a package and runs
# for DURATION plus a few seconds.
#
# Usage: bench/prometheus.sh            (DURATION=15s RATE=200)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
RATE=${RATE:-200}
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
TOKEN=prom-bench-token # the sender's API and the proxy's control API want it

. bench/lib.sh
need go golang-go
need curl curl
need prometheus prometheus
need promtool prometheus

echo "building hookrig..." >&2
go build -o "$tmp/hookrig" ./cmd/hookrig
go build -o "$tmp/upstream" ./bench/upstream # for -free-port
H=$tmp/hookrig

start receiver "$H" receiver --listen 127.0.0.1:0 --secret "$SECRET" --quiet
start chaos "$H" chaos --upstream "${url[receiver]}" --listen 127.0.0.1:0 --control 127.0.0.1:0 --seed 1 --control-token "$TOKEN"
control=$(grep -o 'control http://[0-9.:]*' "$tmp/chaos.out" | cut -d' ' -f2)
start sender "$H" sender --listen 127.0.0.1:0 --data "$tmp/sender" --api-token "$TOKEN" --backoff-base 100ms --backoff-cap 1s --quiet

auth=(-H "Authorization: Bearer $TOKEN")
curl -sf "${auth[@]}" -X PUT -H 'Content-Type: application/json' \
	-d '{"rules":[{"name":"flaky","probability":0.1,"fault":{"type":"status","code":503}}]}' "$control/v1/rules" >/dev/null
ep=$(curl -sf "${auth[@]}" -X POST -H 'Content-Type: application/json' \
	-d "{\"url\":\"${url[chaos]}/hooks\",\"secret\":\"$SECRET\"}" \
	"${url[sender]}/v1/endpoints" | grep -o '"id": *"[^"]*"' | head -1 | cut -d'"' -f4)

# Prometheus: its own config and data under $tmp, loopback only.
hostport() { echo "${1#http://}"; }
prom_port=$("$tmp/upstream" -free-port)
cat >"$tmp/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: receiver
    static_configs: [{targets: ["$(hostport "${url[receiver]}")"]}]
  - job_name: chaos
    authorization: {credentials: "$TOKEN"}
    static_configs: [{targets: ["$(hostport "$control")"]}]
  - job_name: sender
    authorization: {credentials: "$TOKEN"}
    static_configs: [{targets: ["$(hostport "${url[sender]}")"]}]
CONF
promtool check config "$tmp/prometheus.yml" >/dev/null
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom-data" \
	--web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom=http://127.0.0.1:$prom_port
for _ in $(seq 500); do
	curl -sf "$prom/-/ready" >/dev/null 2>&1 && break
	sleep 0.02
done
curl -sf "$prom/-/ready" >/dev/null || { echo "prometheus did not start:" >&2; tail -20 "$tmp/prometheus.log" >&2; exit 1; }
"$H" version | head -1
prometheus --version 2>&1 | head -1

echo "posting events at $RATE/s for $DURATION (sender -> chaos -> receiver, 10% answered 503 by the proxy)..." >&2
"$H" bench "${url[sender]}" --ingest "$ep" --rate "$RATE" --duration "$DURATION" \
	-H "Authorization: Bearer $TOKEN" --quiet --out "$tmp/bench.json" >/dev/null
sleep 2 # two scrapes past the load's end, so the last seconds are in the rates

# query PROMQL: Prometheus's answer, one "labels value" line per series.
query() {
	echo "\$ $1"
	curl -sf --get "$prom/api/v1/query" --data-urlencode "query=$1" |
		grep -o '"metric":{[^}]*},"value":\[[^]]*\]' |
		sed -E 's/"metric":\{([^}]*)\},"value":\[[0-9.]+,"([^"]*)"\]/  {\1} \2/' || echo "  (no answer)"
}
echo
echo "== Prometheus (scraping every 1s) =="
query 'up'
query 'rate(hookrig_receiver_requests_total{result="acked"}[10s])'
query 'sum by (outcome) (rate(hookrig_sender_attempts_total[10s])) > 0'
query 'hookrig_chaos_requests_total'
query 'histogram_quantile(0.99, rate(hookrig_sender_delivery_seconds_bucket[10s]))'
query 'hookrig_sender_events_accepted_total - hookrig_sender_events_delivered_total - hookrig_sender_dead_lettered_total'

echo
echo "== promtool check metrics =="
for target in "receiver ${url[receiver]}/metrics" "chaos $control/metrics" "sender ${url[sender]}/metrics"; do
	set -- $target
	n=$(curl -sf "${auth[@]}" "$2" | grep -vc '^#')
	if problems=$(curl -sf "${auth[@]}" "$2" | promtool check metrics 2>&1); then
		echo "$1: $n samples, promtool: ok"
	else
		echo "$1: $n samples, promtool:"
		echo "$problems" | sed 's/^/  /'
	fi
done
