#!/usr/bin/env bash
# Installs the Debian packages a profile needs, only those missing: `run`, `test`, `bench`.
set -euo pipefail

profile="${1:-test}"
case "$profile" in
  run) packages=(libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk) ;;
  test) packages=(dcmtk chromium fonts-noto-cjk poppler-utils) ;;
  bench) packages=(dcmtk orthanc orthanc-dicomweb) ;;
  *) echo "unknown profile $profile (run, test, bench)" >&2; exit 2 ;;
esac

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1; then
  sudo_cmd=(sudo)
else
  echo "Missing Debian packages: ${missing[*]}. Install them as root: apt-get install -y ${missing[*]}" >&2
  # The system runs without them (PDFs lose Chinese glyphs); the tests need them.
  [ "$profile" = run ] && exit 0
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
