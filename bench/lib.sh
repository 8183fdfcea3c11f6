# bench/lib.sh — what the bench scripts share. Each script does
#
#   set -euo pipefail
#   cd "$(dirname "$0")/.."
#   . bench/lib.sh
#
# and gets: $tmp, a scratch directory removed on exit; need, to install a
# missing tool; start/stop, to run a server in the background and learn its
# address; start_nginx; median; json_num. Every server started with start
# or start_nginx (or whose pid the script adds to pids) is stopped on exit,
# however the script ends.

PATH=$PATH:/usr/sbin # nginx lives there on Debian

# need COMMAND PACKAGE: install PACKAGE with apt-get when COMMAND is missing
# (apt-get update once, and only if the install needs it). Fails if it
# cannot; a script for which the tool is optional says `need ... || ...`.
apt_updated=
need() {
	command -v "$1" >/dev/null 2>&1 && return
	echo "installing $2 ..." >&2
	apt-get install -y "$2" >/dev/null 2>&1 && return
	if [ -z "$apt_updated" ]; then
		apt-get update >/dev/null || return
		apt_updated=1
	fi
	apt-get install -y "$2" >/dev/null
}

tmp=$(mktemp -d)
pids=()
declare -A url pid
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME CMD...: run CMD in the background and wait for the address it
# prints (hookrig's servers and bench/upstream print it first); sets
# url[NAME] and pid[NAME]. Call it as a plain command, not in $(...): the
# pid must reach cleanup.
start() {
	local name=$1
	shift
	# Empty the file first: the background child truncates it only once it
	# runs, and a name started before would meanwhile show its old address.
	: >"$tmp/$name.out"
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid[$name]=$!
	pids+=($!)
	for _ in $(seq 500); do
		url[$name]=$(grep -o 'http://[0-9.:]*' "$tmp/$name.out" 2>/dev/null | head -1 || true)
		[ -n "${url[$name]}" ] && return
		sleep 0.02
	done
	echo "$name did not start:" >&2
	cat "$tmp/$name.err" >&2
	exit 1
}

# stop NAME: stop a server started with start (or start_nginx) and wait
# for it to exit.
stop() {
	kill "${pid[$1]}" 2>/dev/null || true
	wait "${pid[$1]}" 2>/dev/null || true
}

# start_nginx NAME PORT WORKERS HTTP: run nginx on 127.0.0.1:PORT with
# WORKERS worker processes and HTTP as the rest of its http block (upstream
# and server blocks), logs and temporary files under $tmp/NAME; waits until
# it answers and sets url[NAME] and pid[NAME].
start_nginx() {
	local name=$1 port=$2 workers=$3 http=$4 dir=$tmp/$1
	mkdir -p "$dir"
	{
		[ "$(id -u)" = 0 ] && echo "user root;"
		cat <<CONF
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
$http
}
CONF
	} >"$dir/nginx.conf"
	nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$tmp/$name.err" 2>&1 &
	pid[$name]=$!
	pids+=($!)
	url[$name]=http://127.0.0.1:$port
	for _ in $(seq 500); do
		curl -s -o /dev/null "${url[$name]}/" && return
		sleep 0.02
	done
	echo "$name (nginx) did not start:" >&2
	cat "$tmp/$name.err" "$dir/error.log" >&2
	exit 1
}

# median: the median of the numbers on stdin, one a line (blank lines
# skipped); the mean of the middle two for an even count, "-" for none.
median() {
	sort -g | awk 'NF { a[++n] = $1 } END {
		if (n == 0) { print "-"; exit }
		print (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}'
}

# json_num FILE KEY: the first number written as "KEY": N in FILE (the
# JSON results of hookrig bench are indented one field a line).
json_num() {
	grep -o "\"$2\": *[-0-9.e+]*" "$1" | head -1 | grep -o '[-0-9.e+]*$'
}

# go_tool NAME MODULE@VERSION: the path of a Go program built from its
# module (bombardier, toxiproxy: peers that are no Debian package), kept in
# $BENCH_BIN (default ~/.cache/hookrig-bench) so the next run reuses it.
# Prints nothing and fails when it cannot be built.
go_tool() {
	local bin=${BENCH_BIN:-$HOME/.cache/hookrig-bench}/$1 pkg=${2%@*}
	[ -x "$bin" ] && { echo "$bin"; return; }
	mkdir -p "$tmp/gobin"
	echo "building $1 from $2 ..." >&2
	GOBIN="$tmp/gobin" go install "$2" >/dev/null 2>&1 || return 1
	mkdir -p "$(dirname "$bin")"
	mv "$tmp/gobin/$(basename "$pkg")" "$bin" && echo "$bin"
}

# result KEY=VALUE...: the script's last line, for bench/all.sh to read
# ("RESULT" and space-separated KEY=VALUE pairs; "-" for a value not
# measured).
result() { echo "RESULT $*"; }
