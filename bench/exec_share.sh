#!/usr/bin/env bash
# How `archmatrix exec` should show the host's files to the guest, measured
# (README, "Benchmarks"; the choice is in docs/protocol.md, "mount"):
#  - virtio-9p: the current directory shared read-only, nothing copied. The
#    per-call cost is the mount: its message's round trip (exec -v), and
#    exec's wall time with the share against from / without it; read throughput is measured in the guest by the guest program's
#    own clock, for one 64 MiB file and for a build tree of 2000 files /
#    50 MB, with the 9p cache modes `loose` and `none` (first read after the
#    mount in both: every call of exec mounts afresh).
#  - a read-only virtio-blk image made on the fly: the per-call cost of
#    making it from the same tree (mke2fs -d, and mksquashfs when installed);
#    every exec call would pay it again, since the tree may have changed.
# Figures, not assertions. Guest reads of a block image are not measured: the
# built kernels have no block layer, and the image's making alone already
# costs more per call than the 9p mount (see the JSON).
#
#   bench/exec_share.sh [RUNS] [CELL] [MATRIX] [OUT.json]
#   (defaults: 5, aarch64-64k-va48, tests/integration/matrix.yaml,
#    bench/results/exec_share.json)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cell=${2:-aarch64-64k-va48}
matrix=$(realpath "${3:-tests/integration/matrix.yaml}")
out=${4:-bench/results/exec_share.json}
bin=$(realpath build/archmatrix)
[ -x "$bin" ] || { echo "build first: ci/build.sh" >&2; exit 2; }
case "$cell" in
  x86_64*) cc=cc ;;
  aarch64*) cc=aarch64-linux-gnu-gcc ;;
  armhf*) cc=arm-linux-gnueabihf-gcc ;;
  *) echo "unknown arch of cell $cell" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"  # the program runs as uid 65534 and must enter it
"$cc" -static -O2 -o "$tmp/reader" bench/exec_share_read.c
# A build tree: 2000 files of 25 KiB (50 MB) in 40 directories, and one 64 MiB file.
mkdir -p "$tmp/share/tree"
for d in $(seq 1 40); do
  mkdir "$tmp/share/tree/d$d"
  head -c $((50 * 25600)) /dev/urandom > "$tmp/blob"
  split -b 25600 -a 3 -d "$tmp/blob" "$tmp/share/tree/d$d/f"
done
head -c $((64 << 20)) /dev/urandom > "$tmp/share/big.bin"
chmod -R a+rX "$tmp/share"
rm "$tmp/blob"

ms() { local ns; ns=$(date +%s%N); echo $((ns / 1000000)); }
am_exec() { "$bin" exec --matrix "$matrix" --cell "$cell" -- "$tmp/reader" "$@"; }
# Warm-up (kernel, modules and agent into the cache); not measured.
(cd "$tmp/share" && am_exec big.bin) > /dev/null
for i in $(seq 1 "$runs"); do
  for cache in loose none; do
    (cd "$tmp/share" && ARCHMATRIX_EXEC_9P_CACHE=$cache am_exec big.bin) > "$tmp/big-$cache-$i.json"
    (cd "$tmp/share" && ARCHMATRIX_EXEC_9P_CACHE=$cache am_exec tree) > "$tmp/tree-$cache-$i.json"
  done
  # Per-call cost of the share: the same empty run from / (nothing shared) and from the tree.
  s=$(ms); (cd / && am_exec) > /dev/null; e=$(ms); echo $((e - s)) >> "$tmp/noshare.ms"
  s=$(ms); (cd "$tmp/share" && am_exec) > /dev/null; e=$(ms); echo $((e - s)) >> "$tmp/share.ms"
  # The mount message's round trip, as exec -v reports it.
  (cd "$tmp/share" && "$bin" exec -v --matrix "$matrix" --cell "$cell" -- "$tmp/reader" 2>&1 > /dev/null) |
    sed -n 's/.* shared read-only in \([0-9]*\) ms.*/\1/p' >> "$tmp/mount.ms"
  rm -f "$tmp/img.ext2" "$tmp/img.sqfs"
  s=$(ms); mke2fs -q -F -t ext2 -b 4096 -d "$tmp/share" "$tmp/img.ext2" 160M > /dev/null 2>&1; e=$(ms); echo $((e - s)) >> "$tmp/mke2fs.ms"
  if command -v mksquashfs > /dev/null; then
    s=$(ms); mksquashfs "$tmp/share" "$tmp/img.sqfs" -noappend -no-progress -quiet > /dev/null; e=$(ms)
    echo $((e - s)) >> "$tmp/mksquashfs.ms"
  fi
done
mkdir -p "$(dirname "$out")"
python3 - "$tmp" "$runs" "$out" "$cell" <<'PY'
import json, os, platform, statistics, subprocess, sys
tmp, runs, out, cell = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
med = lambda xs: round(statistics.median(xs), 1)
def ms_file(name):
    p = os.path.join(tmp, name)
    return [int(l) for l in open(p)] if os.path.exists(p) else []
nine = {}
for cache in ("loose", "none"):
    big = [json.load(open(f"{tmp}/big-{cache}-{i}.json")) for i in range(1, runs + 1)]
    tree = [json.load(open(f"{tmp}/tree-{cache}-{i}.json")) for i in range(1, runs + 1)]
    nine[cache] = {
        "read_64MiB_file_MBps": med([b["bytes"] / 1e6 / (b["ms"] / 1e3) for b in big]),
        "read_tree_2000_files_50MB_ms": med([t["ms"] for t in tree]),
        "read_tree_MBps": med([t["bytes"] / 1e6 / (t["ms"] / 1e3) for t in tree]),
        "tree_files_read": tree[0]["files"],
    }
noshare, share = ms_file("noshare.ms"), ms_file("share.ms")
qemu = subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
result = {
    "what": f"exec's file sharing on {cell}, warm cache, TCG (no KVM); medians",
    "runs": runs, "cpus": os.cpu_count(), "qemu": qemu, "machine": platform.machine(),
    "virtio_9p": {
        "exec_wall_ms_without_share": med(noshare),
        "exec_wall_ms_with_share": med(share),
        "per_call_setup_ms_paired_difference": med([s - n for s, n in zip(share, noshare)]),
        "mount_message_round_trip_ms": med(ms_file("mount.ms")),
        "cache": nine,
    },
    "virtio_blk_image": {
        "mke2fs_d_ms_per_call": med(ms_file("mke2fs.ms")),
        "mksquashfs_ms_per_call": med(ms_file("mksquashfs.ms")) if ms_file("mksquashfs.ms") else "not installed",
    },
}
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result, indent=2))
PY
