#!/usr/bin/env bash
# A three-node caf-durable cluster on this machine, for trying it out:
#
#   examples/cluster/run-local.sh start [BUILD_DIR]   # default build dir: build
#   curl http://127.0.0.1:8101/counter/alice/inc      # any node, any object
#   curl http://127.0.0.1:8102/admin/cluster          # links, load
#   examples/cluster/run-local.sh stop
#
# Nodes n1 (weur, eu), n2 (enam, us) and n3 (apac, eu and us) serve HTTP on
# BASE_PORT+1..3 (default 8101..8103) and talk BASP over mutual TLS on
# BASE_PORT-1000+1..3. Everything lives in WORK (default /tmp/durable-cluster):
# a CA and one certificate per node made with the openssl CLI, the catalog,
# the shared deployment secret, each node's data directory and log.
set -euo pipefail
cmd=${1:-start}
build=${2:-build}
work=${WORK:-/tmp/durable-cluster}
base=${BASE_PORT:-8100}
nodes=(n1 n2 n3)

stop() {
  for n in "${nodes[@]}"; do
    if [ -f "$work/$n.pid" ]; then
      kill "$(cat "$work/$n.pid")" 2>/dev/null || true
      rm -f "$work/$n.pid"
    fi
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
if [ "$cmd" != start ]; then
  echo "usage: $0 start [BUILD_DIR] | stop" >&2
  exit 1
fi
server="$(cd "$build" && pwd)/examples/counter_server"
[ -x "$server" ] || { echo "no $server: build first (make build)" >&2; exit 1; }
mkdir -p "$work/pki"
stop
cd "$work"
if [ ! -f pki/ca.pem ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=durable-ca \
    -keyout pki/ca.key -out pki/ca.pem 2>/dev/null
  for n in "${nodes[@]}"; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$n" -keyout "pki/$n.key" \
      -out "pki/$n.csr" 2>/dev/null
    openssl x509 -req -in "pki/$n.csr" -CA pki/ca.pem -CAkey pki/ca.key \
      -CAcreateserial -days 365 -out "pki/$n.pem" 2>/dev/null
  done
fi
[ -f secret.hex ] || openssl rand -hex 32 > secret.hex
cat > catalog.json <<JSON
{"cluster": "local",
 "nodes": [
  {"name": "n1", "number": 1, "basp": "127.0.0.1:$((base - 999))",
   "http": "127.0.0.1:$((base + 1))", "region": "weur", "jurisdictions": ["eu"]},
  {"name": "n2", "number": 2, "basp": "127.0.0.1:$((base - 998))",
   "http": "127.0.0.1:$((base + 2))", "region": "enam", "jurisdictions": ["us"]},
  {"name": "n3", "number": 3, "basp": "127.0.0.1:$((base - 997))",
   "http": "127.0.0.1:$((base + 3))", "region": "apac",
   "jurisdictions": ["eu", "us"]}]}
JSON
for n in "${nodes[@]}"; do
  DURABLE_SECRET=$(cat secret.hex) nohup "$server" \
    --durable.data-dir="$work/$n" \
    --durable.cluster.catalog="$work/catalog.json" \
    --durable.cluster.node="$n" \
    --durable.cluster.tls-certificate="$work/pki/$n.pem" \
    --durable.cluster.tls-key="$work/pki/$n.key" \
    --durable.cluster.tls-ca="$work/pki/ca.pem" \
    --http.bindings='["counter=counter", "counter-eu=counter@eu"]' \
    >"$work/$n.log" 2>&1 &
  echo $! >"$work/$n.pid"
done
# Wait until every node sees every link up.
for i in 1 2 3; do
  for _ in $(seq 100); do
    if curl -sf "http://127.0.0.1:$((base + i))/admin/cluster" 2>/dev/null \
        | grep -q '"state":"up".*"state":"up"'; then
      continue 2
    fi
    sleep 0.1
  done
  echo "n$i did not link up; see $work/n$i.log" >&2
  exit 1
done
echo "cluster up: HTTP on 127.0.0.1:$((base + 1))..$((base + 3)), files in $work"
