#!/usr/bin/env bash
# Run the whole suite: the SQLite pass (browser tests included) and, when
# ELEARN_TEST_DATABASE_URL is set, the PostgreSQL pass at the same time. The passes share
# no database (each uses its own Redis database too), and on two cores running them side
# by side takes little more than the longer one alone. The PostgreSQL pass's output is
# kept in test-artifacts/postgres-pass.log and printed when it ends.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-artifacts
if [ -z "${ELEARN_TEST_DATABASE_URL:-}" ]; then
  make --no-print-directory test-sqlite
  status=$?
  echo "NOTE: ELEARN_TEST_DATABASE_URL is not set, so the PostgreSQL pass was skipped."
  echo "      bash .ci/run starts PostgreSQL and Redis and runs both passes."
  exit $status
fi
pg_redis=""
if [ -n "${ELEARN_TEST_REDIS_URL:-}" ]; then
  pg_redis="${ELEARN_TEST_REDIS_URL%/*}/14"  # the SQLite pass keeps the URL's own database
fi
log=test-artifacts/postgres-pass.log
ELEARN_TEST_REDIS_URL="$pg_redis" make --no-print-directory test-postgres > "$log" 2>&1 &
pg_pid=$!
trap 'kill $pg_pid 2>/dev/null' INT TERM
make --no-print-directory test-sqlite
sqlite_status=$?
wait $pg_pid
pg_status=$?
echo
echo "===== PostgreSQL pass (ran beside the SQLite pass; full log: $log) ====="
tail -n 60 "$log"
echo
echo "SQLite pass: exit $sqlite_status; PostgreSQL pass: exit $pg_status"
[ $sqlite_status -eq 0 ] && [ $pg_status -eq 0 ]
