#!/bin/bash
# One `guiji ingest` into a fresh PostgreSQL database, with the CPU of each of guiji's threads (read from
# /proc/<pid>/task every 0.3 s; the last reading of each thread is printed): the stage threads, the reading
# thread and V8's helper threads (garbage collection, compilation) — bench/CHOICES.md's per-thread figures.
#   bench/thread-cpu.sh [FILE] [extra ingest args…]   (default FILE: bench/data/penalty-1000000.csv)
# Env: PG (default postgres://postgres@127.0.0.1:5432), COUNTY (default 230184), NODEFLAGS; run `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
DB_PREFIX=guiji_bench_threads
# shellcheck source=bench/fresh-db.sh
source bench/fresh-db.sh
node ${NODEFLAGS:-} dist/cli/main.js ingest "$FILE" --county "${COUNTY:-230184}" --json "$@" >/dev/null 2>&1 &
pid=$!
declare -A ticks
while kill -0 "$pid" 2>/dev/null; do
  for t in /proc/"$pid"/task/*; do
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    read -r -a f <<<"${stat##*) }" # fields after the command name: utime and stime are the 12th and 13th
    ticks[${t##*/}]=$((f[11] + f[12]))
  done
  sleep 0.3
done
wait "$pid" || echo "ingest exited with $?" >&2
hz=$(getconf CLK_TCK)
for tid in "${!ticks[@]}"; do
  label=thread
  [ "$tid" = "$pid" ] && label='reading thread'
  echo "${ticks[$tid]} $tid $label"
done | sort -rn | awk -v hz="$hz" '$1 > 0 { printf "%8.2f CPU-s  tid %s %s %s\n", $1 / hz, $2, $3, $4 }'
echo "(threads are not named: the stage threads are the largest besides the reading thread; the four or so of about equal CPU are V8's helpers)"
