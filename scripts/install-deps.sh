#!/usr/bin/env bash
# Installs what probesim needs, only what is missing; safe to run repeatedly. Used by
# `make test`, `make demo` and `make bench`.
#  1. Debian packages of the host's release (apt-get install).
#  2. Unicorn >= 2.1.1 and Capstone 5 (docs/unicorn.md says why). On Debian 13 or later they are
#     system packages. On Debian 12 they come from Debian 13 ("trixie") through apt with a private
#     configuration kept under .deps/apt: the system's sources, lists and dpkg state are never
#     changed. `apt-get download` checks the signatures; `dpkg-deb -x` unpacks into .deps/prefix,
#     which CMake prefers (cmake/Dependencies.cmake) and which the binaries find by RPATH.
#  3. An arm64 Debian root for the e2e tests, the same way (fetch_arm64_root below).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS=${PROBESIM_DEPS_DIR:-$ROOT/.deps}

PACKAGES=(
  cmake make pkg-config g++ git ccache
  liblief-dev doctest-dev zlib1g-dev libzstd-dev libssl-dev
  pybind11-dev python3-pybind11 python3-dev python3-venv python3-pip python3-setuptools
  python3-wheel python3-pytest python3-nbclient python3-nbconvert python3-ipykernel
  python3-matplotlib python3-distributed
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross musl-tools qemu-user busybox-static
  clang libfuzzer-14-dev
  debian-archive-keyring
)
# Built against in the project prefix on Debian 12, from the system on Debian 13+.
NEWER_PACKAGES=(libunicorn2t64 libunicorn-dev libcapstone5 libcapstone-dev)
NEWER_SUITE=trixie

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
fi

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
system_has_newer=0
[[ $codename != bookworm ]] && system_has_newer=1

apt_install_missing() {
  local missing=() p status
  for p in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "probesim: installing missing Debian packages: ${missing[*]}"
  if [[ -n $SUDO ]] && ! command -v sudo >/dev/null; then
    echo "probesim: need root or sudo to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# URIs of the system's apt sources that serve the host's release (the same Debian registry
# serves the newer suite): deb822 .sources files, then one-line sources.list entries.
debian_uris() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v want="$codename" '
      /^[[:space:]]*$/ { if (uri != "" && ok) print uri; uri=""; ok=0; next }
      /^URIs:/ { uri=$2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == want) ok=1 }
      END { if (uri != "" && ok) print uri }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v want="$codename" '$1 == "deb" {
      for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i + 1) == want) print $i; break } }' "$f"
  done
}

# The first Debian mirror of the system's apt sources, or exit naming what needs it ($1).
debian_uri_for() {
  local uri
  uri=$(debian_uris | awk 'NR == 1')
  if [[ -z $uri ]]; then
    echo "probesim: no apt source for '$codename' found in /etc/apt; cannot fetch $1." \
         "Add a Debian mirror to apt's sources." >&2
    exit 1
  fi
  echo "$uri"
}

# apt with a private configuration kept under $1 (the system's sources, lists and dpkg state
# are never read or changed): writes $2 as its only source line, fetches its lists, and leaves
# the apt options in APT_OPTS (more options may follow as $3...). `apt-get download` checks the
# signatures.
private_apt() {
  local apt=$1 source=$2
  shift 2
  rm -rf "$apt/debs"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  echo "$source" > "$apt/sources.list"
  APT_OPTS=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=-
            -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
            -o APT::Sandbox::User=root -o Debug::NoLocking=1 "$@")
  apt-get "${APT_OPTS[@]}" update -qq
}

fetch_newer() {
  local prefix=$DEPS/prefix stamp=$DEPS/prefix/.probesim-deps
  local want="${NEWER_SUITE}: ${NEWER_PACKAGES[*]}"
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    return 0
  fi
  local uri keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  uri=$(debian_uri_for "Unicorn 2.1.1 and Capstone 5 from Debian ${NEWER_SUITE}")
  echo "probesim: fetching ${NEWER_PACKAGES[*]} from Debian ${NEWER_SUITE} into $prefix"
  local apt=$DEPS/apt
  private_apt "$apt" "deb [signed-by=$keyring] $uri $NEWER_SUITE main"
  (cd "$apt/debs" && apt-get "${APT_OPTS[@]}" download "${NEWER_PACKAGES[@]}" -qq)
  rm -rf "$prefix"
  mkdir -p "$prefix"
  local deb
  for deb in "$apt"/debs/*.deb; do
    dpkg-deb -x "$deb" "$prefix"
  done
  echo "$want" > "$stamp"
}

# An arm64 Debian root for the e2e tests (issue 18): Debian's arm64 packages of the host's
# release and their dependencies, resolved and downloaded by apt with a private configuration
# (APT::Architecture=arm64; the system's dpkg architectures are never changed) and unpacked with
# dpkg-deb -x into .deps/arm64-root. /etc/passwd and /etc/group come from base-passwd's masters
# and /bin/sh is dash, as their maintainer scripts would make them. The reference runs of those
# tests chroot into the root with Debian's static qemu-aarch64, copied to
# /usr/libexec/probesim/qemu-aarch64-static (qemu-aarch64 -L redirects open but not stat).
ARM64_ROOT_PACKAGES=(coreutils dash grep sed findutils diffutils gawk base-passwd)

fetch_arm64_root() {
  local root=$DEPS/arm64-root stamp=$DEPS/arm64-root.stamp
  local want="${codename} arm64: ${ARM64_ROOT_PACKAGES[*]} + qemu-user-static"
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    return 0
  fi
  local uri keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  uri=$(debian_uri_for "the arm64 root for the e2e tests")
  echo "probesim: building an arm64 Debian root (${ARM64_ROOT_PACKAGES[*]}) in $root"
  local apt=$DEPS/apt-arm64
  private_apt "$apt" \
    "deb [arch=arm64,$(dpkg --print-architecture) signed-by=$keyring] $uri $codename main" \
    -o Dir::State::status=/dev/null -o "APT::Architectures::=arm64"
  mkdir -p "$apt/debs/arm64" "$apt/debs/host"
  local closure
  closure=$(apt-cache "${APT_OPTS[@]}" -o APT::Architecture=arm64 depends --recurse --no-recommends \
              --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
              "${ARM64_ROOT_PACKAGES[@]}" | grep -v '^[ <]' | sort -u)
  (cd "$apt/debs/arm64" && apt-get "${APT_OPTS[@]}" -o APT::Architecture=arm64 download $closure -qq)
  (cd "$apt/debs/host" && apt-get "${APT_OPTS[@]}" download qemu-user-static -qq)
  rm -rf "$root"
  mkdir -p "$root"
  local deb mark=$apt/unpacked
  touch "$mark"
  for deb in "$apt"/debs/arm64/*.deb; do
    dpkg-deb -x "$deb" "$root"
  done
  cp "$root/usr/share/base-passwd/passwd.master" "$root/etc/passwd"
  cp "$root/usr/share/base-passwd/group.master" "$root/etc/group"
  ln -sfn dash "$root/bin/sh"
  local qemu=$apt/qemu
  rm -rf "$qemu" && mkdir -p "$qemu" "$root/usr/libexec/probesim"
  dpkg-deb -x "$apt"/debs/host/qemu-user-static_*.deb "$qemu"
  cp "$qemu/usr/bin/qemu-aarch64-static" "$root/usr/libexec/probesim/"
  rm -rf "$qemu"
  # What unpacking and the steps above wrote gets base-passwd's time, so no mtime is "now".
  find "$root" -newer "$mark" -exec touch -h -r "$root/usr/share/base-passwd/passwd.master" {} +
  echo "$want" > "$stamp"
}

apt_install_missing "${PACKAGES[@]}"
if [[ $system_has_newer -eq 1 ]]; then
  apt_install_missing "${NEWER_PACKAGES[@]}"
else
  fetch_newer
fi
fetch_arm64_root
