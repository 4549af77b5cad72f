#!/usr/bin/env bash
# The installed archmatrix works without the checkout (issue 10).
#   check_install.sh BUILD_DIR WORK_DIR stage            (label unit)
#   check_install.sh BUILD_DIR WORK_DIR run FAKE_QEMU_DIR (label integration: one real boot)
#   check_install.sh BUILD_DIR WORK_DIR deb              (label unit)
# stage: `cmake --install` into WORK_DIR/stage, then the prefix is copied to
# WORK_DIR/moved and run from an empty directory: `--version` must name
# moved/share/archmatrix as the data directory, and `list` must read its
# data from there (a scenario removed from the moved copy, and only there,
# is missing from the listing). run: the moved prefix's `archmatrix run` of
# one cell with the fake QEMU (a real kernel from the cache, guest binaries
# built from the moved share/archmatrix) passes, and its `exec` of a static
# program in a real x86_64-6.1 guest passes the output and status through. deb: `cpack -G DEB` makes a
# package with the binary, the data and the run-time Depends.
set -euo pipefail
build=$(cd "$1" && pwd)
work=$2
mode=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

stage() {
  rm -rf "$work/stage" "$work/moved"
  mkdir -p "$work"
  cmake --install "$build" --prefix "$work/stage" > "$work/install.log"
  # A relocated prefix: nothing in it may point back at the staging path,
  # the build tree or the checkout.
  cp -a "$work/stage" "$work/moved"
  rm -rf "$work/stage"
}

cwd=$(mktemp -d)
trap 'rm -rf "$cwd"' EXIT
# exec's program (uid 65534) gets this directory as its cwd, with the
# host's modes: mktemp's 0700 would close it to the program.
chmod 755 "$cwd"
cd "$cwd"

case "$mode" in
stage)
  stage
  bin="$work/moved/bin/archmatrix"
  data="$work/moved/share/archmatrix"
  for f in matrix.yaml scenarios/sparse-tmpfs/scenario.yaml kernels/fragments images/agent/agent.c \
           images/target/CMakeLists.txt cmake/toolchains/aarch64-linux-gnu.cmake; do
    [ -e "$data/$f" ] || fail "$data/$f was not installed"
  done
  version=$("$bin" --version)
  grep -qxF "data: $data" <<< "$version" || fail "--version does not name $data as the data directory: $version"
  full=$("$bin" list) || fail "archmatrix list failed: $full"
  grep -qE '^[0-9]+ cells, ' <<< "$full" || fail "no cell count in: $full"
  grep -q '^x86_64-6.1 ' <<< "$full" || fail "the default matrix's x86_64-6.1 is not listed: $full"
  # The listing comes from the moved prefix: remove a scenario there only.
  rm -rf "$data/scenarios/tagged-pointers"
  fewer=$("$bin" list --cell x86_64-6.1)
  grep -q 'tagged-pointers' <<< "$fewer" && fail "a scenario removed from $data is still listed (the checkout is used?)"
  grep -q 'sparse-tmpfs' <<< "$fewer" || fail "sparse-tmpfs missing from: $fewer"
  # A user's own matrix, relative to the current directory, still works.
  printf 'cells:\n  - arch: x86_64\n    release: "6.1"\n' > my-matrix.yaml
  own=$("$bin" list --matrix my-matrix.yaml) || fail "list --matrix my-matrix.yaml failed: $own"
  grep -q '^1 cells, ' <<< "$own" || fail "expected 1 cell from my-matrix.yaml: $own"
  echo "ok: installed prefix works from $work/moved"
  ;;
run)
  stage
  # The fake QEMU reports each scenario's exit status only, so the scenario
  # is a user's own without checks, in a directory given relative to the cwd.
  mkdir -p pack/exits-zero
  printf 'name: exits-zero\nsummary: exits 0\nbuild: {sources: [main.c], link: static}\n' > pack/exits-zero/scenario.yaml
  echo 'int main(void) { return 0; }' > pack/exits-zero/main.c
  "$work/moved/bin/archmatrix" run --cell x86_64-6.1 --scenarios pack --scenario exits-zero --qemu-dir "$4" \
    --out out > log 2>&1 || { cat log; fail "archmatrix run from the moved prefix failed"; }
  grep -q '"code": "PASS"' out/report.json || { cat out/report.json; fail "no PASS in the report"; }
  # The guest binaries were built from the moved data: their CMake build
  # directory is keyed by the data directory's path (prepare/target_build).
  data=$(cd "$work/moved/share/archmatrix" && pwd -P)
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/archmatrix
  tree=$(printf '%s' "$data" | sha256sum | cut -c1-12)
  grep -qxF "CMAKE_HOME_DIRECTORY:INTERNAL=$data/images/target" "$cache/targets/x86_64-$tree/CMakeCache.txt" ||
    fail "the guest binaries were not configured from $data/images/target ($cache/targets/x86_64-$tree)"
  cat log
  # exec through the real QEMU (one boot): the agent is built from the
  # moved prefix's images/, the program is the user's, relative to the cwd.
  printf '#include <stdio.h>\nint main(int c, char **v) { printf("hello %%s\\n", v[1]); return 3; }\n' > p.c
  gcc -static -O2 -o p p.c
  status=0
  got=$("$work/moved/bin/archmatrix" exec --cell x86_64-6.1 -- ./p installed 2> exec.err) || status=$?
  [ "$status" = 3 ] && [ "$got" = "hello installed" ] ||
    { cat exec.err; fail "exec from the moved prefix: status $status, output '$got' (expected 3, 'hello installed')"; }
  echo "ok: run and exec from the moved prefix"
  ;;
deb)
  rm -rf "$work"
  mkdir -p "$work"
  start=$(date +%s)
  cpack -G DEB -B "$work" --config "$build/CPackConfig.cmake" > "$work/deb.log" 2>&1 ||
    { cat "$work/deb.log"; fail "cpack -G DEB failed"; }
  deb=$(ls "$work"/archmatrix_*.deb)
  echo "cpack took $(( $(date +%s) - start )) s: $deb"
  depends=$(dpkg-deb -f "$deb" Depends)
  for p in qemu-system-arm qemu-system-x86 gcc-aarch64-linux-gnu dpkg-dev libyaml-cpp; do
    grep -q "$p" <<< "$depends" || fail "Depends lacks $p: $depends"
  done
  # libc6-dev and the cross ones are run-time needs (guests link statically);
  # the libraries' -dev packages, the build tools and test tools are not.
  for p in ninja-build pkg-config libboost libyaml-cpp-dev nlohmann libcli11 libfmt-dev libarchive-dev libssl-dev \
           libgtest libgmock cpio libxml2-utils python3 chromium; do
    grep -q -- "$p" <<< "$depends" && fail "Depends has the build- or test-only $p: $depends"
  done
  [ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] || fail "wrong Architecture"
  contents=$(dpkg-deb -c "$deb")
  for f in ./usr/bin/archmatrix ./usr/share/archmatrix/matrix.yaml ./usr/share/archmatrix/scenarios/ \
           ./usr/share/archmatrix/images/agent/agent.c ./usr/share/archmatrix/cmake/toolchains/; do
    grep -qF " $f" <<< "$contents" || fail "$f is not in $deb"
  done
  echo "ok: $deb"
  ;;
*) fail "unknown mode $mode" ;;
esac
