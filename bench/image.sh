#!/usr/bin/env bash
# bench/image.sh — hookrig's container image, for real (issue 14): builds
# the static binary and the image (Dockerfile), runs the reference
# receiver, the chaos proxy in front of it and the reference sender in
# three containers wired together as compose.yaml wires them, sends events
# through them, then runs `hookrig run --receiver` from the host through
# the chaos container to the receiver container and prints its report.
# Everything it started (containers, network, the docker daemon if it was
# not running) is stopped at the end, however the script ends.
#
# Not part of .ci/run: it needs a docker daemon (Debian's docker.io,
# installed when missing, dockerd started by hand when not running).
#
# Usage: bench/image.sh                      (SCENARIO=flaky-5xx EVENTS=20)
#        DOCKERD_FLAGS='--iptables=false' bench/image.sh   to start dockerd so
#        DOCKER_NET=host bench/image.sh      containers on the host's network
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO=${SCENARIO:-flaky-5xx}
EVENTS=${EVENTS:-20}
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
API_TOKEN=image-sh-api-token
CONTROL_TOKEN=image-sh-control-token
IMAGE=hookrig:local
run_id=hookrig-image-$$

. bench/lib.sh
need go golang-go
need curl curl
need dockerd docker.io

# Our own cleanup runs first (containers before the daemon lib.sh stops),
# then lib.sh's.
containers=()
network=
docker_cleanup() {
	if [ ${#containers[@]} -gt 0 ]; then
		docker rm -f "${containers[@]}" >/dev/null 2>&1 || true
	fi
	if [ -n "$network" ]; then
		docker network rm "$network" >/dev/null 2>&1 || true
	fi
	cleanup
}
trap docker_cleanup EXIT

# wait_for N CMD...: run CMD every 0.1 s until it succeeds, at most N times.
wait_for() {
	local n=$1
	shift
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# --- the daemon -------------------------------------------------------------
# start_dockerd FLAGS: start dockerd with FLAGS; true once it answers. On
# failure it says why (the end of its log) and leaves no daemon behind.
start_dockerd() {
	local log=$tmp/dockerd.$RANDOM.log
	echo "starting dockerd $*" >&2
	# shellcheck disable=SC2086
	dockerd $* >"$log" 2>&1 &
	local p=$!
	pids+=("$p")
	if wait_for 300 docker info; then
		pid[dockerd]=$p
		return 0
	fi
	echo "dockerd $* did not come up; the end of its log:" >&2
	tail -n 15 "$log" | sed 's/^/  /' >&2
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	return 1
}

if docker info >/dev/null 2>&1; then
	echo "docker: using the daemon already running" >&2
elif [ -n "${DOCKERD_FLAGS:-}" ]; then
	start_dockerd "$DOCKERD_FLAGS"
else
	# As plain as possible first, then without what containers in a
	# container often lack: iptables, then overlayfs.
	start_dockerd "" ||
		start_dockerd "--iptables=false --ip6tables=false" ||
		start_dockerd "--iptables=false --ip6tables=false --storage-driver=vfs" || {
		echo "no docker daemon could be started here (see above)" >&2
		exit 1
	}
fi
docker version --format 'docker: client {{.Client.Version}}, server {{.Server.Version}}' >&2

# --- the image ----------------------------------------------------------------
echo "building the static binary and the image..." >&2
ctx=$tmp/context
mkdir -p "$ctx/data" "$ctx/tmp"
chmod 1777 "$ctx/tmp"
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/hookrig" ./cmd/hookrig
go build -o "$tmp/hookrig" ./cmd/hookrig # the host's, for hookrig run
cp /etc/ssl/certs/ca-certificates.crt Dockerfile .dockerignore "$ctx/"
docker build -q -t "$IMAGE" "$ctx" >/dev/null
docker image inspect "$IMAGE" --format 'image: {{index .RepoTags 0}}, {{.Size}} bytes, user {{.Config.User}}, entrypoint {{.Config.Entrypoint}}'
docker run --rm "$IMAGE" version
# A whole run inside one container: scratch has no /tmp, the image does.
echo "\$ docker run --rm $IMAGE run baseline -q   (its verdict)"
docker run --rm "$IMAGE" run baseline -q | sed -n 4,5p

# --- three containers wired together --------------------------------------------
# On a network of their own (as compose does), each publishing its port
# on 127.0.0.1; with DOCKER_NET=host, on the host's network on loopback.
if [ "${DOCKER_NET:-bridge}" = host ]; then
	net=(--network host)
	rcv_addr=127.0.0.1:18090 chaos_addr=127.0.0.1:18081 control_addr=127.0.0.1:18474 sender_addr=127.0.0.1:18070
	upstream=http://$rcv_addr endpoint=http://$chaos_addr/webhooks
	publish_rcv=() publish_chaos=() publish_sender=()
else
	network=$run_id
	docker network create "$network" >/dev/null
	net=(--network "$network")
	rcv_addr=0.0.0.0:8090 chaos_addr=0.0.0.0:8081 control_addr=0.0.0.0:8474 sender_addr=0.0.0.0:8070
	upstream=http://$run_id-receiver:8090 endpoint=http://$run_id-chaos:8081/webhooks
	publish_rcv=(-p 127.0.0.1::8090) publish_chaos=(-p 127.0.0.1::8081 -p 127.0.0.1::8474) publish_sender=(-p 127.0.0.1::8070)
fi

# container NAME ARGS...: run the image detached as $run_id-NAME.
container() {
	local name=$run_id-$1
	shift
	containers+=("$name")
	docker run -d --name "$name" "${net[@]}" "$@" >/dev/null
}
container receiver "${publish_rcv[@]}" "$IMAGE" receiver --listen "$rcv_addr" --secret "$SECRET"
container chaos "${publish_chaos[@]}" -e HOOKRIG_CONTROL_TOKEN=$CONTROL_TOKEN "$IMAGE" \
	chaos --listen "$chaos_addr" --upstream "$upstream" --control "$control_addr" --seed 1
container sender "${publish_sender[@]}" -e HOOKRIG_API_TOKEN=$API_TOKEN "$IMAGE" \
	sender --listen "$sender_addr" --data /data --allow-private

# host_url NAME PORT: the container's port as the host reaches it.
host_url() {
	if [ -z "$network" ]; then
		case $2 in 8090) echo "http://$rcv_addr" ;; 8081) echo "http://$chaos_addr" ;; 8474) echo "http://$control_addr" ;; 8070) echo "http://$sender_addr" ;; esac
		return
	fi
	echo "http://$(docker port "$run_id-$1" "$2/tcp" | grep -m1 -o '127.0.0.1:[0-9]*')"
}
receiver=$(host_url receiver 8090)
chaos=$(host_url chaos 8081)
control=$(host_url chaos 8474)
sender=$(host_url sender 8070)
api=(-H "Authorization: Bearer $API_TOKEN" -H 'Content-Type: application/json')
ctl=(-H "Authorization: Bearer $CONTROL_TOKEN" -H 'Content-Type: application/json')

ready() {
	wait_for 100 curl -sf "$receiver/v1/health" &&
		wait_for 100 curl -sf "${ctl[@]}" "$control/v1/stats" &&
		wait_for 100 curl -sf "${api[@]}" "$sender/v1/stats"
}
if ! ready; then
	echo "the containers did not answer; their logs:" >&2
	for c in "${containers[@]}"; do
		echo "== $c" >&2
		docker logs "$c" 2>&1 | tail -n 10 >&2
	done
	exit 1
fi
echo "containers: receiver $receiver, chaos $chaos (control $control), sender $sender"

# --- the sender container delivers through the chaos container ---------------------
# Every first attempt is answered 503 by the proxy: each event needs its retry.
curl -sf -X PUT "${ctl[@]}" "$control/v1/rules" \
	-d '{"rules":[{"name":"first-fails","match":"attempt == 1","fault":{"type":"status","code":503}}]}' >/dev/null
ep=$(curl -sf "${api[@]}" "$sender/v1/endpoints" \
	-d "{\"url\":\"$endpoint\",\"secret\":\"$SECRET\",\"policy\":{\"backoff\":{\"base\":\"100ms\",\"factor\":2,\"cap\":\"1s\"}}}" |
	grep -o '"id": *"[^"]*"' | head -1 | cut -d'"' -f4)
events=$(for i in $(seq "$EVENTS"); do
	printf '{"endpoint":"%s","type":"order.paid","payload":{"order":%d}}\n' "$ep" "$i"
done | paste -sd, -)
curl -sf "${api[@]}" "$sender/v1/events" -d "{\"events\":[$events]}" >/dev/null
delivered() { [ "$(curl -sf "${api[@]}" "$sender/v1/stats" | json_num /dev/stdin delivered)" = "$EVENTS" ]; }
if ! wait_for 300 delivered; then
	echo "the sender container did not deliver all $EVENTS events in 30 s:" >&2
fi
curl -sf "${api[@]}" "$sender/v1/stats" >"$tmp/sender.json"
curl -sf "${ctl[@]}" "$control/v1/stats" >"$tmp/chaos.json"
curl -sf "$receiver/v1/stats" >"$tmp/receiver.json"
echo "sender container: $(json_num "$tmp/sender.json" accepted) accepted, $(json_num "$tmp/sender.json" delivered) delivered, $(json_num "$tmp/sender.json" attempts) attempts"
echo "chaos container:  $(json_num "$tmp/chaos.json" requests) requests, $(json_num "$tmp/chaos.json" injected) faults injected"
echo "receiver container: $(json_num "$tmp/receiver.json" received) received, $(json_num "$tmp/receiver.json" unique) unique, $(json_num "$tmp/receiver.json" duplicates) duplicates"

# --- hookrig run from the host, through chaos to the receiver ------------------------
curl -sf -X PUT "${ctl[@]}" "$control/v1/rules" -d '{"rules":[]}' >/dev/null
echo
echo "\$ hookrig run $SCENARIO --receiver $chaos/webhooks --receipts $receiver/v1/receipts --secret whsec_... -q"
status=0
"$tmp/hookrig" run "$SCENARIO" --receiver "$chaos/webhooks" --receipts "$receiver/v1/receipts" --secret "$SECRET" -q || status=$?
echo "exit $status"
exit "$status"
