#!/usr/bin/env bash
# The quality gates of the README's test command, after the normal suite:
#   build-asan  AddressSanitizer + UndefinedBehaviorSanitizer: every unit and
#               CLI test (the fake-QEMU fault suite included), then the
#               fault cases that use real guests (a panic, Ctrl-C and
#               --resume, a boot deadline, hostile output, two runs on one
#               cache, a wrong-arch binary).
#   build-tsan  ThreadSanitizer: the process-supervision code (Supervisor's
#               Asio loop, its timers, signal handling and parallel cells).
# Host code only; the guest binaries are cross-built by the runner as usual.
# A sanitizer report aborts the process (-fno-sanitize-recover=all), which
# fails the test that caused it.
set -euo pipefail
cd "$(dirname "$0")/.."

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

echo "== AddressSanitizer + UndefinedBehaviorSanitizer (build-asan)"
ARCHMATRIX_BUILD_DIR=build-asan ARCHMATRIX_WERROR=ON bash ci/build.sh -DARCHMATRIX_SANITIZE=address,undefined
(cd build-asan && ctest --output-on-failure --timeout 600 -L unit)
build-asan/tests/integration_tests --gtest_color=no \
  --gtest_filter='RealGuest.*:Supervision.*:Cache.*:CrossBuild.*'

echo "== ThreadSanitizer (build-tsan): process supervision"
cmake -S . -B build-tsan -G Ninja -DARCHMATRIX_WERROR=ON -DARCHMATRIX_SANITIZE=thread
cmake --build build-tsan --target supervisor_tests
build-tsan/tests/supervisor_tests --gtest_color=no --gtest_filter='SupervisorTest.*'
