#!/bin/sh
# vectors.sh regenerates vectors.json from the providers' official npm
# libraries (stripe, @octokit/webhooks-methods, svix, standardwebhooks).
# The packages go into a temp dir (or $VECTORS_NODE_DIR if it already holds
# them), never into the repository, and nothing of them is committed: only
# the JSON printed by vectors.mjs.
#
#   reference/webhook/testdata/vectors.sh            # rewrite vectors.json
#   reference/webhook/testdata/vectors.sh -          # print to stdout only
#   reference/webhook/testdata/vectors.sh receiver --scheme stripe --secret whsec_...
#                      # run official-receiver.mjs (verifies with the libraries)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "vectors.sh: node not found (need node >= 18 and npm)" >&2; exit 2; }
command -v npm >/dev/null || { echo "vectors.sh: npm not found (need node >= 18 and npm)" >&2; exit 2; }

dir=${VECTORS_NODE_DIR:-}
cleanup=
if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/hookrig-vectors.XXXXXX")
	cleanup=$dir
fi
trap 'rm -f "$here/vectors.json.tmp"; [ -z "$cleanup" ] || rm -rf "$cleanup"' EXIT
if [ ! -d "$dir/node_modules/stripe" ] || [ ! -d "$dir/node_modules/@octokit/webhooks-methods" ] ||
	[ ! -d "$dir/node_modules/svix" ] || [ ! -d "$dir/node_modules/standardwebhooks" ]; then
	(cd "$dir" && [ -f package.json ] || echo '{"private":true}' >"$dir/package.json")
	(cd "$dir" && npm install --no-audit --no-fund --silent stripe @octokit/webhooks-methods svix standardwebhooks) >&2
fi
if [ "${1:-}" = "receiver" ]; then
	shift
	# exec, so that a kill of this script's pid stops the receiver (a temp
	# install dir is then left behind; pass VECTORS_NODE_DIR to reuse one).
	VECTORS_NODE_DIR=$dir exec node "$here/official-receiver.mjs" "$@"
elif [ "${1:-}" = "-" ]; then
	VECTORS_NODE_DIR=$dir node "$here/vectors.mjs"
else
	VECTORS_NODE_DIR=$dir node "$here/vectors.mjs" >"$here/vectors.json.tmp"
	mv "$here/vectors.json.tmp" "$here/vectors.json"
	echo "wrote $here/vectors.json" >&2
fi
