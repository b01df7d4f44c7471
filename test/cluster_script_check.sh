#!/usr/bin/env bash
# Runs examples/cluster/run-local.sh as a user would: three nodes up, one
# object counted through each of them, then stopped.
set -euo pipefail
build=$1
export WORK=$(mktemp -d /tmp/durable-run-local.XXXXXX)
export BASE_PORT=$((20000 + RANDOM % 20000))
script="$(dirname "$0")/../examples/cluster/run-local.sh"
trap 'bash "$script" stop; rm -rf "$WORK"' EXIT
bash "$script" start "$build"
got=""
for i in 1 2 3; do
  got+=$(curl -sf "http://127.0.0.1:$((BASE_PORT + i))/counter/script-check/inc")
done
echo "counted $got"
[ "$got" = 123 ]
