#!/usr/bin/env bash
# Install the Debian packages elearn needs, if missing: `run` (the app) or `test` (plus Chromium).
# As root it uses apt-get; otherwise it says exactly what to install and stops.
set -euo pipefail
purpose="${1:-run}"
missing=()

python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
  || { echo "elearn needs Python 3.11 or newer as python3 (Debian 12: apt-get install python3)." >&2; exit 1; }
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
if [ "$purpose" = test ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
fi

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "elearn needs these Debian packages: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get install -y ${missing[*]}   and run make again." >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
