#!/usr/bin/env bash
# Prepares a Rust sysroot that lets Debian's own rustc (package rustc, at
# /usr/bin) build for aarch64-unknown-linux-gnu, and prints its path.
#
#   ci/rust-aarch64-sysroot.sh [CACHE_DIR]    (default ~/.cache/archmatrix/rust)
#   RUSTFLAGS="--sysroot $(ci/rust-aarch64-sysroot.sh)" \
#     cargo test --target aarch64-unknown-linux-gnu ...
#
# The aarch64 standard library is Debian's libstd-rust-dev of arch arm64, the
# exact version of the host's rustc (rustc refuses an std of another build).
# It is downloaded with apt-get in a private state directory under CACHE_DIR
# (the host's sources name the mirror; its package set, architectures and
# sources are never changed: no dpkg --add-architecture) and unpacked with
# dpkg-deb. The sysroot holds that target's rlibs and a link to the host's
# own x86_64 libraries (build scripts and proc macros still run on the host).
# Idempotent: a sysroot already made for this rustc version is reused.
set -euo pipefail

cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/archmatrix/rust}
host_triple=x86_64-unknown-linux-gnu
triple=aarch64-unknown-linux-gnu

[ -x /usr/bin/rustc ] || { echo "rust-aarch64-sysroot: /usr/bin/rustc missing: apt-get install rustc cargo" >&2; exit 1; }
version=$(dpkg-query -W -f='${Version}' rustc 2>/dev/null) ||
  { echo "rust-aarch64-sysroot: the rustc package is not installed" >&2; exit 1; }
host_lib=$(/usr/bin/rustc --print sysroot)/lib/rustlib/$host_triple
[ -d "$host_lib" ] || { echo "rust-aarch64-sysroot: no host std at $host_lib" >&2; exit 1; }

sysroot=$cache/sysroot-$version
if [ -f "$sysroot/.complete" ]; then
  echo "$sysroot"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$sysroot/.complete" ]; then echo "$sysroot"; exit 0; fi

state=$cache/apt-arm64
mkdir -p "$state/state/lists/partial" "$state/cache/archives/partial"
: >"$state/status"
apt=(-q -o "Dir::State=$state/state" -o "Dir::State::Status=$state/status" -o "Dir::Cache=$state/cache"
  -o APT::Architecture=arm64 -o APT::Architectures=arm64 -o APT::Sandbox::User=root
  -o Acquire::Languages=none)

# A mirror in the middle of a sync can fail one index, so what counts is
# whether apt then knows the package version we need.
known() { apt-cache "${apt[@]}" show "libstd-rust-dev=$version" >/dev/null 2>&1; }
for attempt in 1 2 3; do
  apt-get "${apt[@]}" update >"$state/update.log" 2>&1 || true
  known && break
  # A mirror serving a stored snapshot can carry a Release file past its
  # Valid-Until date: the signature is still checked, only the window waived.
  if grep -q -e 'is expired' -e 'is not valid yet' "$state/update.log"; then
    echo "rust-aarch64-sysroot: a Release file is outside its Valid-Until window; using it (signature still checked)" >&2
    apt-get "${apt[@]}" -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false update \
      >"$state/update.log" 2>&1 || true
    known && break
  fi
  sleep $((attempt * 5))
done
known || { echo "rust-aarch64-sysroot: apt knows no libstd-rust-dev $version for arm64:" >&2
           tail -n 20 "$state/update.log" >&2; exit 1; }

debs=$cache/debs-$version
rm -rf "$debs" "$sysroot.tmp"
mkdir -p "$debs" "$sysroot.tmp"
# apt-get download checks the .deb against the signed index's hash.
(cd "$debs" && apt-get "${apt[@]}" download "libstd-rust-dev=$version") >&2
dpkg-deb -x "$debs"/libstd-rust-dev_*_arm64.deb "$debs/root"
[ -d "$debs/root/usr/lib/rustlib/$triple/lib" ] ||
  { echo "rust-aarch64-sysroot: the arm64 libstd-rust-dev holds no lib/rustlib/$triple/lib" >&2; exit 1; }
mkdir -p "$sysroot.tmp/lib/rustlib"
mv "$debs/root/usr/lib/rustlib/$triple" "$sysroot.tmp/lib/rustlib/$triple"
ln -s "$host_lib" "$sysroot.tmp/lib/rustlib/$host_triple"
rm -rf "$debs"
touch "$sysroot.tmp/.complete"
rm -rf "$sysroot"
mv "$sysroot.tmp" "$sysroot"
echo "$sysroot"
