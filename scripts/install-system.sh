#!/usr/bin/env bash
# Debian packages: EGL + Mesa (llvmpipe) for headless rendering with Panda3D's p3headlessgl;
# Chromium for the browser tests of the report and the web app; PostgreSQL for the service tests.
set -euo pipefail
pkgs=(libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libx11-6 chromium fonts-dejavu-core postgresql)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
