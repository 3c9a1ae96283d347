#!/usr/bin/env bash
# Install the Debian packages elearn needs, if missing: `run` (the app) or `test` (plus Chromium).
# As root it uses apt-get; otherwise it says exactly what to install and stops.
# For `run` it also tries espeak-ng and a Vietnamese font (the narrated demo lecture); if
# those cannot be installed it says so and carries on: the demo is then silent, or skipped.
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
  # Certificate tests read the PDF's text and decode its QR code.
  command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
  command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
fi

optional=()
if [ "$purpose" = run ]; then
  command -v espeak-ng >/dev/null 2>&1 || optional+=(espeak-ng)
  fc-list 2>/dev/null | grep -qi dejavu || optional+=(fonts-dejavu-core)
fi
install_optional() {
  [ ${#optional[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && { [ "$updated" = yes ] || apt-get update -qq; } >/dev/null 2>&1 \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${optional[@]}" >/dev/null 2>&1; then
    return 0
  fi
  echo "Note: optional ${optional[*]} not installed (sudo apt-get install -y ${optional[*]}); the demo lecture is silent or skipped."
}
updated=no

[ ${#missing[@]} -eq 0 ] && { install_optional; exit 0; }
if [ "$(id -u)" -ne 0 ]; then
  echo "elearn needs these Debian packages: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get install -y ${missing[*]}   and run make again." >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
updated=yes
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_optional
