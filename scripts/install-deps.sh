#!/usr/bin/env bash
# Installs the Debian 12 packages probesim needs, only those that are missing.
# Used by `make test`, `make demo` and `make bench`; safe to run repeatedly.
set -euo pipefail

PACKAGES=(
  cmake make pkg-config g++ git
  libunicorn-dev libcapstone-dev liblief-dev doctest-dev
  pybind11-dev python3-pybind11 python3-dev python3-venv python3-pip python3-setuptools
  python3-wheel python3-pytest python3-nbclient python3-nbconvert python3-ipykernel
  python3-matplotlib
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross musl-tools qemu-user busybox-static
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "probesim: installing missing Debian packages: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "probesim: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
