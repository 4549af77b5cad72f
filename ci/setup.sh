#!/usr/bin/env bash
# Installs the host packages in ci/packages.txt that are missing, with apt.
# Never touches the host's apt sources: kernels are downloaded later by
# archmatrix itself, into a private apt state directory.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(grep -v -E '^\s*(#|$)' ci/packages.txt)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#wanted[@]} host packages are installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "setup: installing ${missing[*]}"
# A mirror in the middle of a sync can fail one index: apt-get update then
# exits non-zero although the indexes we need arrived. So an update failure
# is not fatal; an install failure is, after a fresh update and retries.
for attempt in 1 2 3 4; do
  $sudo apt-get update -q || echo "setup: apt-get update reported errors (attempt $attempt); trying the install anyway"
  if $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    echo "setup: done"
    exit 0
  fi
  echo "setup: install failed (attempt $attempt); retrying in $((attempt * 10)) s" >&2
  sleep $((attempt * 10))
done
echo "setup: could not install: ${missing[*]}" >&2
exit 1
