#!/usr/bin/env bash
# bench/postgres.sh — the reference sender on PostgreSQL (--store) beside
# the embedded bbolt outbox (--data), for 1, 2 and 3 instances sharing one
# database (issue 15). Not a test: it prints figures, medians of RUNS rounds.
#
#   accepted, single   events/s accepted durably (answered after the commit),
#                      one event per request, C_SINGLE concurrent clients
#                      per instance
#   accepted, batch    the same with batches of 100, C_BATCH clients per
#                      instance
#   delivered          events/s from the first ingest request to the last
#                      acknowledged delivery, sender -> receiver; events
#                      posted to the first instance, delivered by all
#   delivered, endpoints answering in 20 ms
#                      the same (WORK=slow) with SLOW_EPS endpoints whose
#                      receiver answers each webhook after SLOW_MS of
#                      processing (--process-duration --process-before-ack),
#                      as real endpoints take tens of ms: an instance's 64
#                      workers then cap it (64 / 20 ms = 3,200/s at most),
#                      and instances add workers until the CPU or the
#                      database's commits are the limit
#
# Under the delivery rows: the database's commits per event delivered
# (pg_stat_database over the row) and how busy the machine's CPUs were
# (/proc/stat over the row); after the table, the commit rate this
# database sustains (pgbench, one-row INSERT per transaction, 32
# connections, in the same run) and the delivered/s it would allow at
# the measured commits per event: the database's commit limit here.
#
# With N instances, each ingest driver posts to its own instance at the
# same time and the rates are summed. bbolt is one process by design: its
# row is the one-instance figure.
#
# The PostgreSQL cluster is this script's own, as internal/pgtest starts
# one: initdb in a temporary directory, postgres on a free port on
# 127.0.0.1, run as the unprivileged user hookrig-pg when run as root;
# fsync and synchronous_commit on (durable), stopped on exit.
#
# Usage: bench/postgres.sh   (RUNS=3 N_SINGLE=20000 N_BATCH=200000 N_E2E=30000 C_SINGLE=64 C_BATCH=8 PG_BIN=/usr/lib/postgresql/15/bin
#                             N_SLOW=20000 SLOW_MS=20 SLOW_EPS=8
#                             WORK="single batch e2e slow" INSTANCES="1 2 3" STORES="bbolt pg": a part of the table)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
N_SINGLE=${N_SINGLE:-20000}
N_BATCH=${N_BATCH:-200000}
N_E2E=${N_E2E:-30000}
C_SINGLE=${C_SINGLE:-64}
C_BATCH=${C_BATCH:-8}
N_SLOW=${N_SLOW:-20000}
SLOW_MS=${SLOW_MS:-20}
SLOW_EPS=${SLOW_EPS:-8}
WORK=${WORK:-single batch e2e slow}
INSTANCES=${INSTANCES:-1 2 3}
STORES=${STORES:-bbolt pg}
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

. bench/lib.sh
# A step that fails under load (a driver, a curl) ends the run: say which,
# rather than ending without a table.
trap 'echo "bench/postgres.sh: line $LINENO failed (exit $?); no table" >&2' ERR
set -o errtrace # in functions too
need go golang-go
need curl curl
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [ ! -x "$PG_BIN/initdb" ]; then
	need initdb postgresql || true
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

echo "building hookrig and the load driver..." >&2
go build -o "$tmp/hookrig" ./cmd/hookrig
go build -o "$tmp/refload" ./bench/refload
go build -o "$tmp/upstream" ./bench/upstream # for -free-port
H=$tmp/hookrig
L=$tmp/refload

# The PostgreSQL cluster, as its own user when run as root (PostgreSQL
# refuses root).
as_pg=()
if [ "$(id -u)" = 0 ]; then
	id hookrig-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin hookrig-pg
	as_pg=(setpriv --reuid=hookrig-pg --regid=hookrig-pg --clear-groups)
fi
pgdir=$(mktemp -d)
[ "$(id -u)" = 0 ] && chown hookrig-pg "$pgdir"
"${as_pg[@]}" "$PG_BIN/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
pgport=$("$tmp/upstream" -free-port)
"${as_pg[@]}" "$PG_BIN/postgres" -D "$pgdir/data" -p "$pgport" -c listen_addresses=127.0.0.1 \
	-c unix_socket_directories="$pgdir" -c max_connections=200 -c shared_buffers=256MB >"$tmp/postgres.log" 2>&1 &
pids+=($!)
trap 'cleanup; rm -rf "$pgdir"' EXIT
for _ in $(seq 500); do
	"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$pgport" && break
	sleep 0.02
done
psql() { "$PG_BIN/psql" -q -h 127.0.0.1 -p "$pgport" -U postgres "$@"; }

# endpoint SENDER_URL URL: create an endpoint delivering to URL, print its id.
endpoint() {
	curl -sf -X POST -H 'Content-Type: application/json' -d "{\"url\":\"$2\",\"secret\":\"$SECRET\"}" "$1/v1/endpoints" |
		grep -o '"id": *"[^"]*"' | head -1 | cut -d'"' -f4
}

declare -A results commits busy
record() { results[$1]="${results[$1]:-} $2"; } # key, "rate p50 p99 failed"

# cpu_ticks: "busy total" jiffies of all CPUs so far (/proc/stat).
cpu_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
# xacts DSN: transactions committed in DSN's database so far.
xacts() { local db=${1##*/}; db=${db%%\?*}; psql -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'" postgres; }

# deliver KEY STORE ENDPOINTS EVENTS: refload e2e through s1 to
# ENDPOINTS (comma-separated); records the rate, and how busy the CPUs
# were and (PostgreSQL) the commits per event delivered.
deliver() {
	local key=$1 store=$2 eps=$3 events=$4 c0 c1 x0=0 x1=0 line
	c0=$(cpu_ticks)
	[ "$store" = bbolt ] || x0=$(xacts "$store")
	line=$("$L" e2e -tsv -sender "${url[s1]}" -endpoint "$eps" -n "$events" -c 4 -batch 100)
	c1=$(cpu_ticks)
	record "$key" "$line"
	busy[$key]="${busy[$key]:-} $(echo "$c0 $c1" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}')"
	if [ "$store" != bbolt ]; then
		x1=$(xacts "$store")
		commits[$key]="${commits[$key]:-} $(awk -v x="$((x1 - x0))" -v n="$events" 'BEGIN {printf "%.3f", x / n}')"
	fi
}

# senders STORE N [ARGS...]: start N instances on STORE ("bbolt" or a
# fresh database), named s1..sN.
senders() {
	local store=$1 n=$2
	shift 2
	for i in $(seq 1 "$n"); do
		if [ "$store" = bbolt ]; then
			start "s$i" "$H" sender --listen 127.0.0.1:0 --data "$tmp/bbolt-$RANDOM$RANDOM" --quiet "$@"
		else
			start "s$i" "$H" sender --listen 127.0.0.1:0 --store "$store" --instance "s$i" --quiet "$@"
		fi
	done
}
stop_senders() { for i in $(seq 1 "$1"); do stop "s$i"; done; }

# fresh_db: a new, empty database; prints its DSN.
fresh_db() {
	local name=bench_$(date +%s%N)
	psql -c "CREATE DATABASE $name" postgres
	echo "postgres://postgres@127.0.0.1:$pgport/$name?sslmode=disable&pool_max_conns=32"
}

# ingest KEY N BATCH C: every instance s1..sN at once, N events shared
# out; records the summed rate and the worst p50/p99.
ingest() {
	local key=$1 n=$2 total=$3 batch=$4 c=$5 ep drivers=()
	for i in $(seq 1 "$n"); do
		ep=$(endpoint "${url[s$i]}" http://127.0.0.1:9/hooks)
		"$L" ingest -tsv -sender "${url[s$i]}" -endpoint "$ep" -n $((total / n)) -c "$c" -batch "$batch" >"$tmp/ingest-$i.tsv" &
		drivers+=($!)
	done
	wait "${drivers[@]}"
	record "$key" "$(cat "$tmp"/ingest-[0-9]*.tsv | awk '{r += $1; if ($2 > p50) p50 = $2; if ($3 > p99) p99 = $3; f += $4} END {printf "%.0f %s %s %d\n", r, p50, p99, f}')"
	rm -f "$tmp"/ingest-[0-9]*.tsv
}

for run in $(seq 1 "$RUNS"); do
	echo "round $run of $RUNS..." >&2
	for n in $INSTANCES; do
		for store in $STORES; do
			[ "$store" = bbolt ] && [ "$n" -gt 1 ] && continue
			s=$store
			if [[ " $WORK " == *" single "* ]]; then
				[ "$store" = pg ] && s=$(fresh_db)
				senders "$s" "$n" --no-dispatch
				ingest "${store}_${n}_single" "$n" "$N_SINGLE" 1 "$C_SINGLE"
				stop_senders "$n"
			fi
			if [[ " $WORK " == *" batch "* ]]; then
				[ "$store" = pg ] && s=$(fresh_db)
				senders "$s" "$n" --no-dispatch
				ingest "${store}_${n}_batch" "$n" "$N_BATCH" 100 "$C_BATCH"
				stop_senders "$n"
			fi
			if [[ " $WORK " == *" e2e "* ]]; then
				start receiver "$H" receiver --listen 127.0.0.1:0 --secret $SECRET --quiet
				[ "$store" = pg ] && s=$(fresh_db)
				senders "$s" "$n"
				deliver "${store}_${n}_e2e" "$s" "$(endpoint "${url[s1]}" "${url[receiver]}/hooks")" "$N_E2E"
				stop_senders "$n"
				stop receiver
			fi
			if [[ " $WORK " == *" slow "* ]]; then
				start receiver "$H" receiver --listen 127.0.0.1:0 --secret $SECRET --quiet \
					--process-duration "${SLOW_MS}ms" --process-before-ack
				[ "$store" = pg ] && s=$(fresh_db)
				senders "$s" "$n"
				eps=
				for _ in $(seq "$SLOW_EPS"); do eps=${eps:+$eps,}$(endpoint "${url[s1]}" "${url[receiver]}/hooks"); done
				deliver "${store}_${n}_slow" "$s" "$eps" "$N_SLOW"
				stop_senders "$n"
				stop receiver
			fi
		done
	done
	rm -rf "$tmp"/bbolt-*
done

column() { echo "${results[$2]:-}" | awk -v RS=' ' 'NF' | paste - - - - | awk -v c="$1" '{print $c}'; }
cell() { local m; m=$(column 1 "$1" | median); if [ "$m" = - ]; then printf "%8s" -; else printf "%8.0f" "$m"; fi; }

echo
echo "reference sender, events/s, medians of $RUNS rounds ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), fsync on)"
printf "%-42s %8s %8s %8s %8s   %s\n" "" "bbolt" "pg x1" "pg x2" "pg x3" "goal"
printf "%-42s %s %s %s %s   %s\n" "accepted, single (c=$C_SINGLE/inst)" "$(cell bbolt_1_single)" "$(cell pg_1_single)" "$(cell pg_2_single)" "$(cell pg_3_single)" ">= 5,000"
printf "%-42s %s %s %s %s   %s\n" "accepted, batch 100 (c=$C_BATCH/inst)" "$(cell bbolt_1_batch)" "$(cell pg_1_batch)" "$(cell pg_2_batch)" "$(cell pg_3_batch)" ">= 50,000"
printf "%-42s %s %s %s %s   %s\n" "delivered sender->receiver" "$(cell bbolt_1_e2e)" "$(cell pg_1_e2e)" "$(cell pg_2_e2e)" "$(cell pg_3_e2e)" "grows with instances"
printf "%-42s %s %s %s %s   %s\n" "delivered, $SLOW_EPS endpoints answering in $SLOW_MS ms" "$(cell bbolt_1_slow)" "$(cell pg_1_slow)" "$(cell pg_2_slow)" "$(cell pg_3_slow)" "grows with instances"
# aux ARRAY FORMAT KEY: the median of a per-row figure (commits, busy).
aux() { local -n a=$1; local m; m=$(echo "${a[$3]:-}" | awk -v RS=' ' 'NF' | median); if [ "$m" = - ]; then printf "%8s" -; else printf "%8$2" "$m"; fi; }
for w in e2e slow; do
	[[ " $WORK " == *" $w "* ]] || continue
	printf "%-42s %s %s %s %s\n" "  $w: commits per event" "$(aux commits .2f bbolt_1_$w)" "$(aux commits .2f pg_1_$w)" "$(aux commits .2f pg_2_$w)" "$(aux commits .2f pg_3_$w)"
	printf "%-42s %s %s %s %s\n" "  $w: CPU busy, %" "$(aux busy .0f bbolt_1_$w)" "$(aux busy .0f pg_1_$w)" "$(aux busy .0f pg_2_$w)" "$(aux busy .0f pg_3_$w)"
done

# The database's commit rate, in this run: one-row INSERTs, one a
# transaction, from 32 connections (concurrent commits share a WAL
# flush), and what it allows at the commits per event measured above.
if [[ " $STORES " == *" pg "* ]] && [[ " $WORK " == *" e2e "* || " $WORK " == *" slow "* ]]; then
	psql -c "CREATE DATABASE bench_commits" postgres
	psql -c "CREATE TABLE t (id bigserial PRIMARY KEY, v bigint)" bench_commits
	echo 'INSERT INTO t (v) VALUES (1);' >"$tmp/commit.sql"
	tps=$("$PG_BIN/pgbench" -n -M prepared -h 127.0.0.1 -p "$pgport" -U postgres -c 32 -j 2 -T 5 -f "$tmp/commit.sql" bench_commits 2>/dev/null |
		awk '/^tps/ {printf "%.0f", $3; exit}')
	cpe=$(for k in "${!commits[@]}"; do echo "${commits[$k]}"; done | awk -v RS=' ' 'NF' | median)
	echo "database commit rate: $tps commits/s (pgbench, 32 connections); at $cpe commits per event delivered (median of the rows) that allows $(awk -v t="$tps" -v c="$cpe" 'BEGIN {printf "%.0f", (c > 0) ? t / c : 0}') events/s"
fi
failed=0
for k in "${!results[@]}"; do failed=$((failed + $(column 4 "$k" | awk '{s += $1} END {print s + 0}'))); done
[ "$failed" = 0 ] || echo "WARNING: $failed events or requests failed; the rates count only the ones that succeeded"
