#!/bin/bash
# One `guiji ingest` into a fresh PostgreSQL database, with what bench/CHOICES.md tables report:
# wall time, peak RSS, guiji CPU (user + sys, threads included), minor faults, PostgreSQL CPU (every
# postgres process, exited backends counted through the postmaster's reaped-children times).
#   bench/ingest-cpu.sh [FILE] [extra ingest args…]   (default FILE: bench/data/penalty-1000000.csv)
# Env: PG (default postgres://postgres@127.0.0.1:5432), COUNTY (default 230184), NODEFLAGS (node options,
# e.g. --max-semi-space-size=8); run `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
DB_PREFIX=guiji_bench_cpu
# shellcheck source=bench/fresh-db.sh
source bench/fresh-db.sh
pg_ticks() {
  local t=0 v
  for p in $(pgrep -x postgres); do
    for v in $(cut -d' ' -f14-17 "/proc/$p/stat" 2>/dev/null); do t=$((t + v)); done
  done
  echo "$t"
}
before=$(pg_ticks)
/usr/bin/time -f "guiji: %e s wall, peak RSS %M KB, CPU %U user + %S sys, minor faults %R" \
  node ${NODEFLAGS:-} dist/cli/main.js ingest "$FILE" --county "${COUNTY:-230184}" --json "$@" 2> >(tail -1 >&2)
after=$(pg_ticks)
psql -X -q -t -d "$DATABASE_URL" -c "SELECT stage_ms FROM batches" >&2 || true
printf "PostgreSQL CPU: %d.%02d s\n" $(( (after - before) / 100 )) $(( (after - before) % 100 )) >&2
