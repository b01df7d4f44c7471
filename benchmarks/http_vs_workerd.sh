#!/usr/bin/env bash
# Benchmark: our HTTP counter server (examples/counter_server) against the
# workerd peer (Cloudflare's runtime, ../shared/peers/workerd), side by side
# under the same wrk load on 127.0.0.1. Not a test: CI must not run it.
#
#   benchmarks/http_vs_workerd.sh [--out DIR]
#
# Cases: "single" (every request increments one object) and "spread" (each
# request increments one of OBJECTS objects picked at random). Rounds
# alternate which server goes first (A B, B A, ...) so drift in the machine's
# load hits both alike. Writes DIR/http_vs_workerd.json (DIR: $OUT, default
# bench-results).
#
# Environment: SERVER (binary, default build/examples/counter_server),
# PEER (workerd's serve.sh), ROUNDS (3), DURATION (10s; 3s with QUICK=1),
# CONNECTIONS (64), WRK_THREADS (2), WRK_TIMEOUT (10s), OBJECTS (1000), WARMUP (2s),
# OUR_ARGS (options for our server; default chosen by trials on 2 cores),
# QUIET_WAIT (30: before each run, wait up to this many seconds for an idle
# machine; 0: don't). Each run reports the CPU share other work took.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out=${OUT:-$root/bench-results}
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "http_vs_workerd: unknown argument $1" >&2; exit 2 ;;
  esac
done

server=${SERVER:-$root/build/examples/counter_server}
peer=${PEER:-$root/../shared/peers/workerd/serve.sh}
rounds=${ROUNDS:-3}
if [ "${QUICK:-0}" = 1 ]; then duration=${DURATION:-3s}; else duration=${DURATION:-10s}; fi
conns=${CONNECTIONS:-64}
wrk_threads=${WRK_THREADS:-2}
# wrk's 2 s default would count slow answers as errors and drop them from p99.
wrk_timeout=${WRK_TIMEOUT:-10s}
objects=${OBJECTS:-1000}
warmup=${WARMUP:-2s}
# Best of short trials on 2 cores (req/s single/spread): 2 I/O threads and 1
# CAF worker 59.6k/48.6k; 2+2 58.4k/46.5k; 1+1 53.7k/47.5k; 1+2 50.7k/41.5k.
our_args=${OUR_ARGS:---http.threads=2 --scheduler.max-threads=1}
read -ra our_argv <<<"$our_args"
quiet_wait=${QUIET_WAIT:-30}
checks=5 # sequential increments checked before each load
py=(python3 "$here/http_vs_workerd.py")
lua=$here/http_vs_workerd.lua

# Other work on this small machine skews a run: wait (boundedly) for quiet.
idle_wait() { [ "$quiet_wait" = 0 ] || "${py[@]}" quiet "$quiet_wait"; }
die() { echo "http_vs_workerd: $*" >&2; exit 1; }
started=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The build directory may be rebuilt while we run: wait for the binary, then
# run a private copy of it.
for _ in $(seq 1 1800); do [ -x "$server" ] && break; sleep 1; done
[ -x "$server" ] || die "no server binary at $server"
cp "$server" "$tmp/counter_server"
[ -f "$peer" ] || die "no workerd peer at $peer"

declare -A port pid inc_path get_path
inc_path=([ours]=/counter/%s/inc [workerd]=/inc/%s)
get_path=([ours]=/counter/%s [workerd]=/get/%s)

# Polls URL until it answers; aborts if the process died or TIMEOUT passed.
wait_ready() { # NAME URL TIMEOUT
  local deadline=$((SECONDS + $3))
  until curl -sf -o /dev/null --max-time 2 "$2"; do
    kill -0 "${pid[$1]}" 2>/dev/null || { tail -20 "$tmp/$1.log" >&2; die "$1 exited"; }
    [ $SECONDS -lt $deadline ] || { tail -20 "$tmp/$1.log" >&2; die "$1 not ready after $3 s"; }
    sleep 0.3
  done
}

# Ours picks its own free port (0) and tells it in "listening on ADDR:PORT".
"$tmp/counter_server" --http.address=127.0.0.1 --http.port=0 \
  --durable.data-dir="$(mktemp -d -p "$tmp")" "${our_argv[@]}" >"$tmp/ours.log" 2>&1 &
pid[ours]=$!; pids+=($!)
for _ in $(seq 1 300); do
  grep -qs '^listening on' "$tmp/ours.log" || ! kill -0 "${pid[ours]}" 2>/dev/null && break
  sleep 0.1
done
port[ours]=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/ours.log")
[ -n "${port[ours]}" ] || { cat "$tmp/ours.log" >&2; die "our server did not start"; }
wait_ready ours "http://127.0.0.1:${port[ours]}/counter/ready" 30

# workerd takes a port from us; serve.sh installs it from npm on first use.
port[workerd]=$("${py[@]}" port)
bash "$peer" "${port[workerd]}" "$(mktemp -d -p "$tmp")" localDisk >"$tmp/workerd.log" 2>&1 &
pid[workerd]=$!; pids+=($!)
wait_ready workerd "http://127.0.0.1:${port[workerd]}/get/ready" 600

url() { # SERVER inc|get NAME
  local t
  if [ "$2" = inc ]; then t=${inc_path[$1]}; else t=${get_path[$1]}; fi
  printf "http://127.0.0.1:%s$t" "${port[$1]}" "$3"
}
value() { curl -sf --max-time 10 "$(url "$@")" || die "$1: GET $(url "$@") failed"; }

# Sequential increments of a fresh NAME must answer 1, 2, ... in order.
check_fresh() { # SERVER NAME
  local prev v
  prev=$(value "$1" get "$2")
  [ "$prev" = 0 ] || die "$1: fresh counter $2 reads '$prev', not 0"
  for _ in $(seq 1 $checks); do
    v=$(value "$1" inc "$2")
    [ "$v" = $((prev + 1)) ] || die "$1: increment of $2 answered '$v' after $prev"
    prev=$v
  done
}

# After a load of DONE completed requests (NON2XX of them not increments),
# the count must be at least what was answered and at most that plus what
# may still have been in flight (one per connection, plus timed-out ones).
check_after() { # SERVER OBSERVED DONE NON2XX ERRORS WHAT
  local lo=$((checks + $3 - $4)) hi=$((checks + $3 + conns + $5))
  if [ "$2" -lt $lo ] || [ "$2" -gt $hi ]; then
    die "$1: $6 is $2 after $3 answered requests; expected $lo..$hi"
  fi
}

run_wrk() { # SERVER NAME DURATION CASE: prints "rps p99 answered non2xx
  # errors other_cpu%"
  local args=(-t"$wrk_threads" -c"$conns" -d"$3" --timeout "$wrk_timeout" --latency)
  if [ "$4" = single ]; then
    args+=("$(url "$1" inc "$2")")
  else
    args+=(-s "$lua" "http://127.0.0.1:${port[$1]}/" -- "${inc_path[$1]}" "$objects" "$2")
  fi
  "${py[@]}" wrk "${pid[$1]}" "${args[@]}" || die "$1: wrk failed"
}

one_run() { # CASE ROUND SERVER
  local name="r$2-$1" first v res rps p99 answered non2xx errs other flag=""
  first=$name
  [ "$1" = spread ] && first=$name-0
  check_fresh "$3" "$first"
  idle_wait >/dev/null
  res=$(run_wrk "$3" "$name" "$duration" "$1")
  read -r rps p99 answered non2xx errs other <<<"$res"
  if [ "$1" = single ]; then
    v=$(value "$3" get "$name")
  else
    v=$("${py[@]}" sum "${port[$3]}" "${get_path[$3]}" "$objects" "$name") ||
      die "$3: reading the $objects counters failed"
  fi
  check_after "$3" "$v" "$answered" "$non2xx" "$errs" "the $1 total"
  # Still strictly increasing after the load.
  v=$(value "$3" get "$first")
  [ "$(value "$3" inc "$first")" = $((v + 1)) ] || die "$3: $first did not go $v -> $((v + 1))"
  if [ "$non2xx" -gt 0 ] || [ "$errs" -gt 0 ]; then
    flag="  FLAGGED: non-2xx $non2xx, socket errors $errs"
  fi
  printf 'round %s/%s  %-6s  %-7s  %9.0f req/s  p99 %8.0f us  (%s requests, other CPU %s%%)%s\n' \
    "$2" "$rounds" "$1" "$3" "$rps" "$p99" "$answered" "$other" "$flag"
  echo "$1 $2 $3 $rps $p99 $answered $non2xx $errs $other" >>"$tmp/rounds.tsv"
}

echo "http_vs_workerd: wrk -t$wrk_threads -c$conns -d$duration, $rounds rounds," \
  "ours: $our_args (port ${port[ours]}), workerd port ${port[workerd]}, load $load_start"
# Warm both up (workerd's JIT, our caches) on objects the rounds do not use.
for s in ours workerd; do run_wrk "$s" warm "$warmup" spread >/dev/null; done

: >"$tmp/rounds.tsv"
for case in single spread; do
  for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then order="ours workerd"; else order="workerd ours"; fi
    for s in $order; do one_run "$case" "$r" "$s"; done
  done
done

mkdir -p "$out"
"${py[@]}" json "$tmp/rounds.tsv" "$out/http_vs_workerd.json" \
  "duration=$duration" "connections=$conns" "wrk_threads=$wrk_threads" \
  "wrk_timeout=$wrk_timeout" \
  "rounds=$rounds" "objects=$objects" "warmup=$warmup" "our_args=$our_args" \
  "workerd=$(grep -o 'version=[0-9.]*' "$peer" | cut -d= -f2) localDisk" \
  "order=alternating, odd rounds ours first" "quick=${QUICK:-0}" \
  "goal=ours >= 20x workerd req/s in both cases" "cores=$(nproc)" \
  "loadavg_start=$load_start" "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" \
  "seconds=$((SECONDS - started))" "quiet_wait=$quiet_wait" \
  "median_is=ours req/s, single object (ratio = ours / workerd; p99_ratio = workerd / ours)"
echo "correctness checks passed; $((SECONDS - started)) s -> $out/http_vs_workerd.json"
