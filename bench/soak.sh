#!/usr/bin/env bash
# bench/soak.sh — does anything grow or get lost over a long steady run?
# (issue 16)
#
#   hookrig bench --ingest --rate RATE ──▶ sender ──▶ chaos ──▶ receiver
#
# The proxy mixes faults all the way through: 5% of attempts answered 503,
# 5% delayed 50 ms, 1% of acknowledgements lost on the way back (the
# sender retries what the receiver already kept: the dedupe window's
# work), and one short outage (connections refused for OUTAGE, a third of
# the way in). Every 10 s it samples each process — sender, chaos,
# receiver and the load generator — from /proc (RSS, threads, open files)
# and the servers' /metrics (sender pending, receiver processing queue,
# dedupe window). When the load stops it drains (waits until the sender
# has nothing pending, at most DRAIN), checks that nothing was lost — the
# load generator's 2xx count, the sender's accepted count, its delivered
# count and the receiver's unique webhooks all equal, nothing
# dead-lettered, every accepted id acknowledged in the receiver's journal —
# and prints each resource's growth after the first minute (goal ≤ 10%).
# Exit 1 when something was lost or processed twice.
#
# From the servers' /metrics it also samples goroutines and the Go heap's
# GC goal (about twice the heap live after the last collection: what a
# leak grows, whatever the point in the GC cycle). RSS is also shown as
# its anonymous part (heap, stacks); the rest is mapped files, such as the
# sender's bbolt outbox.
#
# Every store is bounded by time, as a user running for days would set it,
# scaled to minutes so a 10-minute soak reaches its steady state after the
# first one: the sender gives up on an event HORIZON (1m) after accepting
# it (--max-age; the outage is much shorter, so nothing is dead-lettered)
# and removes a delivered one RETAIN (1m) after delivering it (--retain);
# the receiver remembers an id for HORIZON (--dedupe-ttl), as long as the
# sender may retry it, so a retry after a lost ack is still a duplicate.
# A user keeps the same relation at the defaults' scale (a sender's 24h
# max-age, a receiver's 72h dedupe TTL). RECEIVER_FLAGS and SENDER_FLAGS
# add flags.
#
#   bench/soak.sh            # 10m at RATE=500
#   bench/soak.sh 90s        # a short check
#   RATE=1000 OUTAGE=30s bench/soak.sh 30m
#   HORIZON=72h RETAIN=24h bench/soak.sh 10m   # the defaults' scale: the stores grow all along
#   HOOKRIG=/tmp/hookrig-old bench/soak.sh 10m   # that binary instead of building this tree
# LOAD_CONCURRENCY (64) caps the load generator's connections: when the
# sender stalls (an outage's backlog, a busy machine), an open loop would
# otherwise open one per request in flight, up to 512, and the open-file
# counts would measure that, not a leak.
# It is mostly I/O; run it under nice on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-10m}
RATE=${RATE:-500}
OUTAGE=${OUTAGE:-15s}
RECEIVER_FLAGS=${RECEIVER_FLAGS:-}
SENDER_FLAGS=${SENDER_FLAGS:-}
HORIZON=${HORIZON:-1m} # the sender's retry horizon (--max-age) = the receiver's dedupe TTL
RETAIN=${RETAIN:-1m}   # how long the sender keeps a delivered event
LOAD_CONCURRENCY=${LOAD_CONCURRENCY:-64} # the load generator's connections at most
DRAIN=${DRAIN:-180} # seconds
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

# secs 10m|90s|2h|45: seconds.
secs() {
	case $1 in
	*h) echo $((${1%h} * 3600)) ;;
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*[!0-9]* | "") echo "soak: duration $1 is not N, Ns, Nm or Nh" >&2; exit 2 ;;
	*) echo "$1" ;;
	esac
}
total=$(secs "$DURATION")
outage=$(secs "$OUTAGE")
[ "$total" -ge 70 ] || { echo "soak: $DURATION is too short: growth is measured after the first minute (at least 70s)" >&2; exit 2; }

. bench/lib.sh
need go golang-go
need curl curl

if [ -n "${HOOKRIG:-}" ]; then
	H=$HOOKRIG # a build to measure, such as an older commit's
else
	echo "building hookrig..." >&2
	go build -o "$tmp/hookrig" ./cmd/hookrig
	H=$tmp/hookrig
fi

cat >"$tmp/rules.yaml" <<YAML
rules:
  - name: flaky-5xx
    probability: 0.05
    fault: {type: status, code: 503}
  - name: slow
    probability: 0.05
    fault: {type: latency, delay: 50ms}
  - name: lost-ack
    probability: 0.01
    fault: {type: ack_lost}
  - name: short-outage
    fault: {type: down}
    after: $((total / 3))s
    for: ${outage}s
YAML

# shellcheck disable=SC2086 # the extra flags are words
start receiver "$H" receiver --listen 127.0.0.1:0 --secret "$SECRET" --journal "$tmp/receipts.jsonl" --quiet --dedupe-ttl "$HORIZON" $RECEIVER_FLAGS
start chaos "$H" chaos --upstream "${url[receiver]}" --listen 127.0.0.1:0 --control 127.0.0.1:0 --seed 1 --rules "$tmp/rules.yaml"
control=$(grep -o 'control http://[0-9.:]*' "$tmp/chaos.out" | cut -d' ' -f2)
# No attempt limit, and an age limit (HORIZON) far past the outage: an
# event waits out the outage instead of being dead-lettered, so "nothing
# lost" means every event delivered.
# shellcheck disable=SC2086 # the extra flags are words
start sender "$H" sender --listen 127.0.0.1:0 --data "$tmp/sender" --backoff-base 100ms --backoff-cap 2s \
	--breaker-cooldown 5s --max-attempts 0 --max-age "$HORIZON" --retain "$RETAIN" --quiet $SENDER_FLAGS
ep=$(curl -sf -X POST -H 'Content-Type: application/json' -d "{\"url\":\"${url[chaos]}/hooks\",\"secret\":\"$SECRET\"}" \
	"${url[sender]}/v1/endpoints" | grep -o '"id": *"[^"]*"' | head -1 | cut -d'"' -f4)

"$H" bench "${url[sender]}" --ingest "$ep" --type invoice.paid --keys 100 --rate "$RATE" --duration "${total}s" --concurrency "$LOAD_CONCURRENCY" \
	--quiet --report json --out "$tmp/bench.json" >"$tmp/bench.out" 2>&1 &
pid[bench]=$!
pids+=($!)

# metric URL NAME: the first sample of NAME (no labels) on URL/metrics.
metric() {
	local page
	page=$(curl -sf "$1/metrics") || { echo -; return; }
	awk -v n="$2" '$1 == n && !done { printf "%.0f", $2; done = 1 }' <<<"$page"
}
# gc_goal_mb URL: the Go heap's GC goal (go_memstats_next_gc_bytes).
gc_goal_mb() {
	local page
	page=$(curl -sf "$1/metrics") || { echo - -; return; }
	awk '$1 == "go_memstats_next_gc_bytes" { printf "%.1f", $2 / 1048576 } $1 == "go_goroutines" { g = $2 } END { printf " %d", g }' <<<"$page"
}
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo -; }
# anon_mb PID: the anonymous part of RSS (heap, stacks): what a leak grows.
# The rest is file pages mapped, such as the sender's bbolt outbox, which
# grows with the file and is the kernel's to reclaim.
anon_mb() { awk '/^RssAnon:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo -; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo -; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

procs=(sender chaos receiver bench)
declare -A murl=([sender]="${url[sender]}" [chaos]="$control" [receiver]="${url[receiver]}")
samples=$tmp/samples # t proc rss threads fds anon gc_goal goroutines
echo "soak: $DURATION at $RATE events/s, sender -> chaos (5% 503, 5% +50ms, 1% lost acks, down for ${outage}s at $((total / 3))s) -> receiver; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bounds: sender retries an event ${HORIZON} at most (--max-age) and keeps it ${RETAIN} once delivered (--retain); receiver remembers an id ${HORIZON} (--dedupe-ttl), 1,000,000 at most, and the last 65,536 receipts; chaos the last 10,000 attempts${RECEIVER_FLAGS:+; receiver flags: $RECEIVER_FLAGS}${SENDER_FLAGS:+; sender flags: $SENDER_FLAGS}"
printf '%6s | %-23s | %-23s | %-14s | %-12s | %-15s | %-15s | %9s %9s %9s\n' "t (s)" "RSS MB s/c/r/bench" "anon MB s/c/r/b" "GC goal MB s/c/r" "gorout. s/c/r" "threads s/c/r/b" "fds s/c/r/b" accepted delivered pending
t0=$(date +%s)
while :; do
	t=$(($(date +%s) - t0))
	r=() an=() th=() fd=() gg=() gr=()
	for p in "${procs[@]}"; do
		if [ -d "/proc/${pid[$p]}" ]; then
			a=$(rss_mb "${pid[$p]}") b=$(threads "${pid[$p]}") c=$(fds "${pid[$p]}") d=$(anon_mb "${pid[$p]}")
			g="- -"
			[ -n "${murl[$p]:-}" ] && g=$(gc_goal_mb "${murl[$p]}")
			echo "$t $p $a $b $c $d $g" >>"$samples"
			[ -n "${murl[$p]:-}" ] && { gg+=("${g% *}") gr+=("${g#* }"); }
		else
			a=- b=- c=- d=-
		fi
		r+=("$a") an+=("$d") th+=("$b") fd+=("$c")
	done
	acc=$(metric "${url[sender]}" hookrig_sender_events_accepted_total)
	del=$(metric "${url[sender]}" hookrig_sender_events_delivered_total)
	pend=$(metric "${url[sender]}" hookrig_sender_pending)
	printf '%6d | %-23s | %-23s | %-14s | %-12s | %-15s | %-15s | %9s %9s %9s\n' "$t" "$(
		IFS=/
		echo "${r[*]}"
	)" "$(
		IFS=/
		echo "${an[*]}"
	)" "$(
		IFS=/
		echo "${gg[*]}"
	)" "$(
		IFS=/
		echo "${gr[*]}"
	)" "$(
		IFS=/
		echo "${th[*]}"
	)" "$(
		IFS=/
		echo "${fd[*]}"
	)" "$acc" "$del" "$pend"
	kill -0 "${pid[bench]}" 2>/dev/null || break
	sleep 10
done
wait "${pid[bench]}" || echo "the load generator exited with an error: $(tail -2 "$tmp/bench.out")"

echo "load done after $(($(date +%s) - t0))s; draining (at most ${DRAIN}s)..."
for _ in $(seq "$DRAIN"); do
	[ "$(metric "${url[sender]}" hookrig_sender_pending)" = 0 ] && break
	sleep 1
done
sleep 1.5 # the receiver's journal is written out every second
sent_ok=$(awk -v r="$(json_num "$tmp/bench.json" requests)" -v s="$(json_num "$tmp/bench.json" success)" 'BEGIN { printf "%.0f", r * s }')
accepted=$(metric "${url[sender]}" hookrig_sender_events_accepted_total)
delivered=$(metric "${url[sender]}" hookrig_sender_events_delivered_total)
dead=$(metric "${url[sender]}" hookrig_sender_dead_lettered_total)
pending=$(metric "${url[sender]}" hookrig_sender_pending)
unique=$(curl -sf "${url[receiver]}/v1/stats" | grep -o '"unique": *[0-9]*' | grep -o '[0-9]*$')
dups=$(curl -sf "${url[receiver]}/v1/stats" | grep -o '"duplicates": *[0-9]*' | grep -o '[0-9]*$')
echo
echo "load generator 2xx: $sent_ok   sender accepted: $accepted   delivered: $delivered   dead-lettered: $dead   pending: $pending"
echo "receiver: $unique unique webhooks acknowledged, $dups duplicates acknowledged again (lost acks, retries)"
echo "chaos: $(curl -sf "$control/v1/stats" | grep -o '"outcomes":{[^}]*}' | head -1)"
# The journal says exactly which ids were acknowledged: a count could hide
# a lost event behind one processed twice.
acked_ids=$(grep '"status":200,' "$tmp/receipts.jsonl" | grep -o '"id":"[^"]*"' | sort -u | wc -l)
lost=$((accepted - acked_ids))
twice=$((unique - acked_ids))
echo "receiver journal: $acked_ids distinct webhook-ids acknowledged"
if [ "$twice" -gt 0 ]; then
	echo "$twice webhooks were acknowledged as new twice: their id had left the dedupe window (--dedupe-max, --dedupe-ttl) before the retry came"
fi
if [ "$sent_ok" = "$accepted" ] && [ "$accepted" = "$delivered" ] && [ "$lost" = 0 ] && [ "$dead" = 0 ] && [ "$pending" = 0 ]; then
	echo "nothing lost: every accepted event was delivered and its id acknowledged by the receiver"
	ok=1
else
	echo "LOST or unfinished: $lost accepted events whose id the receiver never acknowledged (see the counts above)"
	ok=
fi
[ "$twice" -le 0 ] || ok=

# Growth after the first minute, per process and resource: the median of
# the last minute's samples against the median of the second minute's
# (threads and open files go up and down with connections: a trend, not
# one peak, says whether they leak), and for RSS also the peak after the
# first minute against that same base. Goal: both within 10%.
echo
echo "growth after the first minute (base: median of the 2nd minute; last: median of the last minute; peak: largest after the 1st minute)"
echo "goal: last within 10% of base (or within 2 threads, 8 open files or goroutines), and for memory the peak too:"
printf '%-9s %-8s %8s %8s %8s %8s %8s  %s\n' process resource base last peak growth peak+ ""
end_t=$(awk 'END { print $1 }' "$samples")
for p in "${procs[@]}"; do
	for col in 3:rss_MB 6:anon_MB 7:gcgoalMB 8:gorout 4:threads 5:fds; do
		awk -v p="$p" -v c="${col%%:*}" -v name="${col#*:}" -v end="$end_t" '
			function med(a, n,   i, j, t) {
				for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
				return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
			}
			$2 == p && $1 >= 60 && $c != "-" && $c != "" {
				if ($1 < 120) b[++nb] = $c
				if ($1 > end - 60) l[++nl] = $c
				if (!seen || $c > peak) peak = $c
				seen = 1
			}
			END {
				if (!nb || !nl) { if (p != "bench" || name !~ /gcgoal|gorout/) printf "%-9s %-8s (too few samples after 60 s)\n", p, name; exit }
				base = med(b, nb); last = med(l, nl)
				g = base > 0 ? (last - base) / base * 100 : 0
				pg = base > 0 ? (peak - base) / base * 100 : 0
				# Counts of a few threads or files move by whole units: a
				# thread more (the runtime never gives one back) or a few
				# connections more is no trend.
				slack = name == "threads" ? 2 : name == "fds" || name == "gorout" ? 8 : 0
				ok = (g <= 10 || last - base <= slack) && (name !~ /MB$/ || pg <= 10)
				printf "%-9s %-8s %8s %8s %8s %7.1f%% %7.1f%%  %s\n", p, name, base, last, peak, g, pg, ok ? "ok" : "GROWS"
			}' "$samples"
	done
done
[ -n "$ok" ]
