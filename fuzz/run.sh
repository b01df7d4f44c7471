#!/usr/bin/env bash
# Runs one fuzz target: fuzz/run.sh BUILD_DIR TARGET [libFuzzer flags...].
# The committed inputs (fuzz/corpus/TARGET) seed a working corpus in
# BUILD_DIR/corpus/TARGET (the committed folder is never written); crashes
# land in BUILD_DIR/artifacts/TARGET/, the full log in
# BUILD_DIR/logs/TARGET.log. Prints libFuzzer's final stats (executions,
# exec/s) and fails if the target found anything.
set -euo pipefail
build=$1
target=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
work="$build/corpus/$target"
artifacts="$build/artifacts/$target"
log="$build/logs/$target.log"
mkdir -p "$work" "$artifacts" "$build/logs"
dict=()
[ -f "$src/$target.dict" ] && dict=(-dict="$src/$target.dict")
echo "== fuzz $target $*"
set +e
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
  "$build/fuzz/fuzz_$target" "$work" "$src/corpus/$target" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "${dict[@]}" "$@" >"$log" 2>&1
status=$?
set -e
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^Done' "$log" || true
if [ "$status" -ne 0 ]; then
  tail -n 60 "$log"
  echo "fuzz_$target failed (exit $status); see $log and $artifacts/"
fi
exit "$status"
