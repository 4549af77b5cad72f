#!/usr/bin/env bash
# Boot-to-agent time of every default cell (median of RUNS warm runs) and the
# wall time of a warm run of the whole default matrix against the sum of its
# cells' QEMU times (the runner's own overhead and the parallel speed-up).
# Figures, not assertions: the result is written as JSON for README.md.
#
#   bench/boot_times.sh [RUNS] [OUT.json]      (defaults: 3, bench/results/boot_times.json)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out=${2:-bench/results/boot_times.json}
bin=build/archmatrix
[ -x "$bin" ] || { echo "build first: ci/build.sh" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" run --out "$tmp/warmup" >/dev/null 2>&1 || true   # downloads and builds, not measured
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  CI=true "$bin" run --out "$tmp/run$i" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  echo "$start $end" > "$tmp/run$i/wall"
done
mkdir -p "$(dirname "$out")"
python3 - "$tmp" "$runs" "$out" <<'PY'
import json, statistics, sys, os, platform, subprocess
tmp, runs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
boots, walls, sums = {}, [], []
for i in range(1, runs + 1):
    r = json.load(open(f"{tmp}/run{i}/report.json"))
    s, e = map(float, open(f"{tmp}/run{i}/wall").read().split())
    walls.append(e - s)
    sums.append(sum(c["wall_seconds"] for c in r["cells"]))
    for c in r["cells"]:
        boots.setdefault(c["id"], []).append(c["boot_seconds"])
qemu = subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
result = {
    "what": "default matrix, warm cache, TCG (no KVM)",
    "runs": runs, "cpus": os.cpu_count(), "qemu": qemu, "machine": platform.machine(),
    "boot_to_agent_seconds_median": {k: round(statistics.median(v), 2) for k, v in sorted(boots.items())},
    "matrix_wall_seconds_median": round(statistics.median(walls), 2),
    "sum_of_cell_qemu_seconds_median": round(statistics.median(sums), 2),
}
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result, indent=2))
PY
