#!/usr/bin/env bash
# Issue 10's performance figures for `archmatrix exec`, as JSON (median of
# RUNS runs each, warm cache, the same static programs every way):
#  - exec_true_seconds: `archmatrix exec --cell CELL -- static-true`, whole
#    command, for a built 16K cell, an aarch64 and an x86_64 Debian-kernel
#    cell: restored from the cell's saved ready state (the default), and
#    exec_true_cold_seconds with --no-snapshot;
#  - floor_seconds: bare QEMU with the same kernel, initramfs and argv, from
#    start to the agent's first record on the console (what any runner must
#    pay); ratio = exec / floor (goal <= 1.5);
#  - stdout_mb_per_s: a program writing 64 MiB to stdout, (64 MiB) / (its
#    exec time - static-true's exec time), on the built cell (goal >= 20);
#  - ctest_demo_seconds: tests/fixtures/ctest-demo's ctest on the Debian
#    16K cell, with and without -j2.
# Figures, not assertions.
#
#   bench/exec_figures.sh [RUNS] [OUT.json] [BUILT_CELL] [DEBIAN_CELL] [X86_CELL]
#   (defaults: 5, bench/results/exec_figures.json, aarch64-16k-va48, aarch64-16k-6.12, x86_64-6.1)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
out=${2:-bench/results/exec_figures.json}
built_cell=${3:-aarch64-16k-va48}
debian_cell=${4:-aarch64-16k-6.12}
x86_cell=${5:-x86_64-6.1}
bin=$PWD/build/archmatrix
[ -x "$bin" ] || { echo "build first: ci/build.sh" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/true.c" <<'C'
int main(void) { return 0; }
C
cat >"$tmp/flood.c" <<'C'
#include <unistd.h>
int main(void) {
  static char b[1 << 16];
  for (int i = 0; i < 1024; i++)
    for (size_t o = 0; o < sizeof b;) { ssize_t w = write(1, b + o, sizeof b - o); if (w <= 0) return 1; o += (size_t)w; }
  return 0;
}
C
aarch64-linux-gnu-gcc -static -O2 -o "$tmp/true" "$tmp/true.c"
aarch64-linux-gnu-gcc -static -O2 -o "$tmp/flood" "$tmp/flood.c"
gcc -static -O2 -o "$tmp/true-x86_64" "$tmp/true.c"
# Kernels, modules and the agent into the cache; not measured.
for c in "$built_cell" "$debian_cell"; do "$bin" exec --cell "$c" -- "$tmp/true" >/dev/null; done
"$bin" exec --cell "$x86_cell" -- "$tmp/true-x86_64" >/dev/null
cmake -S tests/fixtures/ctest-demo -B "$tmp/demo" -G Ninja \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/aarch64-linux-gnu.cmake" \
  "-DCMAKE_CROSSCOMPILING_EMULATOR=$bin;exec;--cell;$debian_cell;--" >/dev/null
cmake --build "$tmp/demo" >/dev/null
# --out keeps the initramfs and records the QEMU argv for the floor.
for c in "$built_cell" "$debian_cell"; do "$bin" exec --cell "$c" --out "$tmp/argv-$c" -- "$tmp/true"; done
"$bin" exec --cell "$x86_cell" --out "$tmp/argv-$x86_cell" -- "$tmp/true-x86_64"
python3 - "$tmp" "$runs" "$out" "$bin" "$built_cell" "$debian_cell" "$x86_cell" <<'PY'
import json, os, platform, statistics, subprocess, sys, time
tmp, runs, out, bin_, built, debian, x86 = sys.argv[1:4] + [sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]]
runs = int(runs)

def timed(argv, **kw):
    t = time.monotonic()
    subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.monotonic() - t

def floor(cell):
    # The exec run's own QEMU argv (no channel devices): start to first record.
    argv = json.load(open(f"{tmp}/argv-{cell}/report.json"))["cells"][0]["qemu_argv"]
    t = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    seen = b""
    while b"<<AM1|" not in seen:
        chunk = p.stdout.read1(65536)
        if not chunk:
            break
        seen = seen[-64:] + chunk
    dt = time.monotonic() - t
    p.kill(); p.wait()
    return dt

res = {"what": "archmatrix exec, warm cache, TCG (no KVM)", "runs": runs, "cpus": os.cpu_count(),
       "machine": platform.machine(),
       "qemu": subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]}
for cell in (built, debian, x86):
    prog = f"{tmp}/true-x86_64" if cell == x86 else f"{tmp}/true"
    ex = [timed([bin_, "exec", "--cell", cell, "--", prog]) for _ in range(runs)]
    cold = [timed([bin_, "exec", "--no-snapshot", "--cell", cell, "--", prog]) for _ in range(runs)]
    fl = [floor(cell) for _ in range(runs)]
    res[cell] = {"exec_true_seconds": round(statistics.median(ex), 3),
                 "exec_true_cold_seconds": round(statistics.median(cold), 3),
                 "floor_seconds": round(statistics.median(fl), 3),
                 "ratio": round(statistics.median(ex) / statistics.median(fl), 2)}
fe = [timed([bin_, "exec", "--cell", built, "--", f"{tmp}/flood"]) for _ in range(runs)]
extra = statistics.median(fe) - res[built]["exec_true_seconds"]
res["stdout_64MiB"] = {"cell": built, "exec_seconds": round(statistics.median(fe), 3),
                       "mb_per_s": round(64 * 1.048576 / extra, 1) if extra > 0 else None}
demo = f"{tmp}/demo"
res["ctest_demo_seconds"] = {"cell": debian,
    "serial": round(statistics.median([timed(["ctest"], cwd=demo) for _ in range(runs)]), 2),
    "j2": round(statistics.median([timed(["ctest", "-j2"], cwd=demo) for _ in range(runs)]), 2)}
os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
json.dump(res, open(out, "w"), indent=2)
print(json.dumps(res, indent=2))
PY
