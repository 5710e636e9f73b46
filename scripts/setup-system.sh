#!/usr/bin/env bash
# Debian packages the project needs: GNU Radio 3.10 (+ dev files), SoapySDR bindings and tools,
# venv/pip, and the build tools of the out-of-tree module. Installs only what is missing.
set -euo pipefail
packages=(gnuradio gnuradio-dev python3-soapysdr soapysdr-tools python3-venv python3-pip cmake pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
