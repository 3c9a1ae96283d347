#!/usr/bin/env bash
# Make sure PostgreSQL and Redis listen on 127.0.0.1 (install and start them from Debian's
# packages if not), and that the test database exists. Idempotent; prints the URLs to use.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {
  [ "$(id -u)" -eq 0 ] || { echo "need root to install $*" >&2; exit 1; }
  [ $apt_updated -eq 1 ] || { apt-get update -qq; apt_updated=1; }
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start" >&2; exit 1; }

# Connect as postgres over TCP; a fresh Debian install wants a password there, so set one.
pg_url="postgresql+psycopg://postgres@127.0.0.1:5432"
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  export PGPASSWORD=postgres
  pg_url="postgresql+psycopg://postgres:postgres@127.0.0.1:5432"
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc \
    "select 1 from pg_database where datname = 'elearn_test'" | grep -q 1; then
  psql -q -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE elearn_test'
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis did not start" >&2; exit 1; }

echo "ELEARN_TEST_DATABASE_URL=${pg_url}/elearn_test"
echo "ELEARN_TEST_REDIS_URL=redis://127.0.0.1:6379/15"
