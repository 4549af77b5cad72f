#!/usr/bin/env bash
# The figures README.md reports ("Benchmarks"), as JSON:
#  - kernel_cold_build_seconds: the cold build time of each built kernel of
#    the matrix, as recorded by the build itself in its cache entry
#    (meta.json: build_seconds, make -j, and whether the object tree was
#    empty). To measure them afresh: archmatrix kernels clean --all first.
#  - boot_to_agent_seconds_median: QEMU start to the agent's hello, per cell,
#    median of RUNS warm runs;
#  - matrix_wall_seconds_median against sum_of_cell_qemu_seconds_median: a
#    warm run of the whole matrix, and what its cells' QEMUs took together
#    (the runner's overhead and what --jobs buys).
# Figures, not assertions.
#
#   bench/matrix_figures.sh [RUNS] [OUT.json] [MATRIX]
#   (defaults: 3, bench/results/matrix_figures.json, matrix.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out=${2:-bench/results/matrix_figures.json}
matrix=${3:-matrix.yaml}
bin=build/archmatrix
[ -x "$bin" ] || { echo "build first: ci/build.sh" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Downloads and builds what is missing; not measured here.
CI=true "$bin" run --matrix "$matrix" --out "$tmp/warmup" >"$tmp/warmup.log" 2>&1 || true
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  CI=true "$bin" run --matrix "$matrix" --out "$tmp/run$i" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  echo "$start $end" > "$tmp/run$i/wall"
done
mkdir -p "$(dirname "$out")"
python3 - "$tmp" "$runs" "$out" "$matrix" <<'PY'
import json, statistics, sys, os, platform, subprocess
tmp, runs, out, matrix = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
boots, walls, sums, builds = {}, [], [], {}
cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "archmatrix")
for i in range(1, runs + 1):
    r = json.load(open(f"{tmp}/run{i}/report.json"))
    s, e = map(float, open(f"{tmp}/run{i}/wall").read().split())
    walls.append(e - s)
    sums.append(sum(c["wall_seconds"] for c in r["cells"]))
    for c in r["cells"]:
        boots.setdefault(c["id"], []).append(c["boot_seconds"])
        k = c["kernel"]
        if k.get("source") == "built" and k.get("cache_key"):
            meta = json.load(open(os.path.join(cache, "kernels", k["cache_key"], "meta.json")))
            builds[k["recipe"]] = {"seconds": round(meta["build_seconds"], 1), "make_jobs": meta.get("make_jobs"),
                                   "cold": meta.get("cold_build"), "release": meta["release"]}
qemu = subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
result = {
    "what": f"{matrix}, warm cache, TCG (no KVM)",
    "runs": runs, "cpus": os.cpu_count(), "qemu": qemu, "machine": platform.machine(),
    "kernel_cold_build_seconds": dict(sorted(builds.items())),
    "boot_to_agent_seconds_median": {k: round(statistics.median(v), 2) for k, v in sorted(boots.items())},
    "matrix_wall_seconds_median": round(statistics.median(walls), 2),
    "sum_of_cell_qemu_seconds_median": round(statistics.median(sums), 2),
}
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result, indent=2))
PY
