# Sourced by bench/ingest-cpu.sh and bench/thread-cpu.sh (with DB_PREFIX set): takes FILE from the first
# argument (shifting it off; default the 1M-row CSV), and gives a fresh, migrated PostgreSQL database in
# DATABASE_URL, dropped on exit. Env: PG (default postgres://postgres@127.0.0.1:5432).
FILE=${1:-bench/data/penalty-1000000.csv}
shift || true
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB_PREFIX}_$$
psql -X -q -d "$PG/postgres" -c "CREATE DATABASE $DB"
trap 'psql -X -q -d "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB" >/dev/null' EXIT
export DATABASE_URL="$PG/$DB"
node dist/cli/main.js migrate >/dev/null
