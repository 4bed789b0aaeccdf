#!/usr/bin/env bash
# Runs one test file RUNS times, one after another, while a loop beside it runs other test files
# over and over, as the full suite keeps both cores busy with other files; prints each run's
# result, the load average, and the pass count; a failed run's output is kept and its path
# printed. Run `npm run build` first (the tests run dist/).
#   bash test/ops/repeat-under-load.sh RUNS TARGET_FILE LOAD_FILE...
# The load loop is told to stop and waited for (never killed), so its tests stop what they started.
set -u
if [ "${1:-}" = --help ] || [ $# -lt 3 ]; then
  echo "usage: bash test/ops/repeat-under-load.sh RUNS TARGET_FILE LOAD_FILE..."
  [ "${1:-}" = --help ]
  exit
fi
runs=$1
target=$2
shift 2
cd "$(dirname "$0")/../.."
logs=$(mktemp -d "${TMPDIR:-/tmp}/aircharge-repeat-XXXXXX")
stop="$logs/stop"
( while [ ! -e "$stop" ]; do npx vitest run --config test/vitest.config.ts "$@" >/dev/null 2>&1; done ) &
load=$!
passed=0
for run in $(seq 1 "$runs"); do
  log="$logs/run-$run.log"
  if npx vitest run --config test/vitest.config.ts "$target" >"$log" 2>&1; then
    passed=$((passed + 1))
    result=pass
    rm -f "$log"
  else
    result="FAIL (output in $log)"
  fi
  echo "run $run: $result, load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
touch "$stop"
wait "$load"
rm -f "$stop"
rmdir "$logs" 2>/dev/null
echo "$target: $passed of $runs passed"
[ "$passed" -eq "$runs" ]
