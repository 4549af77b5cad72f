#!/usr/bin/env bash
# Configures and builds the runner and its tests into build/ (the host build;
# guest binaries are built by the runner itself, per target, under the cache).
# ARCHMATRIX_WERROR=ON in CI; extra CMake arguments may follow.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ARCHMATRIX_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DARCHMATRIX_WERROR="${ARCHMATRIX_WERROR:-OFF}" "$@"
cmake --build "$build"
