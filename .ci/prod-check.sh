#!/usr/bin/env bash
# `make prod-check`: the production stack from Debian's packages on 127.0.0.1, started with the
# very commands docs/deploy/*.service run (these machines have no systemd), checked through
# nginx, then loaded, faulted, backed up and restored. See .ci/prod_check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)  # only to verify the units
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "make prod-check needs these Debian packages: ${need[*]}" >&2
    echo "Install them with:  sudo apt-get install -y ${need[*]}   and run it again." >&2
    exit 1
  fi
  echo "Installing Debian packages: ${need[*]}"
  apt-get update -qq
  # nginx's package tries to start the service; without systemd that is refused, harmlessly.
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# PostgreSQL and Redis on 127.0.0.1, started from Debian's packages if they are not running.
while IFS= read -r line; do export "$line"; done < <(bash .ci/services.sh | grep '^ELEARN_')
PATH="/usr/sbin:$PATH" exec .venv/bin/python .ci/prod_check.py "$@"
