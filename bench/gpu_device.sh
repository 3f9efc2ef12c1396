#!/usr/bin/env bash
# WebGPU benchmarks on a real GPU machine (issue #17): adapter info, HH
# neuron-steps per second at N = 1e5, 1e6, 1e7 (1,000 steps, with and without
# recording v), and the tutorial fit's parameter sets per second.
#
# The machine is bare and offline, so two things travel with the checkout
# (both ignored by git through .git/info/exclude):
#   .gl/        the Vulkan/GL loader .deb packages (libvulkan1 ...), unpacked
#               into / here; made on the dev machine with
#               `apt-get -oAPT::Architecture=amd64 download libvulkan1 libegl1
#               libglvnd0 libopengl0 libgl1 libglx0 libgles2`
#   .denobin/   deno.xz, the xz-compressed `deno` binary of the dev machine
# The root and ./gpu entry points load no npm package, so deno runs with an
# empty cache and --cached-only.
#
# Usage (device tool): carry [".gl", ".denobin"], command
#   bash bench/gpu_device.sh
# Results are written to $OUT (or out/gpu_device/ when OUT is unset).
set -uo pipefail
OUT="${OUT:-out/gpu_device}"
mkdir -p "$OUT"
log="$OUT/gpu_device.log"
exec > >(tee "$log") 2>&1

for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"

if command -v xz >/dev/null; then
  xz -dc .denobin/deno.xz >/tmp/deno
else
  python3 -c 'import lzma,shutil;shutil.copyfileobj(lzma.open(".denobin/deno.xz"),open("/tmp/deno","wb"))'
fi
chmod +x /tmp/deno
export DENO_DIR=/tmp/deno_dir DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
D="/tmp/deno run -A --cached-only --no-lock"

echo "== machine"
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
nproc
/tmp/deno --version
echo "== adapter"
/tmp/deno eval --no-lock '
const a = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
if (!a) { console.log("no adapter"); Deno.exit(1); }
const l = a.limits;
console.log(JSON.stringify({ info: a.info, maxBufferSize: l.maxBufferSize,
  maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
  maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
  features: [...a.features] }));'

echo "== simulate (HH, exponential Euler, 1000 steps)"
timeout 240 $D bench/simulate_gpu_bench.ts \
  --sizes 100000,1000000,10000000 --cpu-sizes 100000
cp out/simulate_gpu_bench.json "$OUT/" 2>/dev/null

echo "== fit throughput: OnlineTraceFitter (in-kernel MSE), large batches"
timeout 150 $D bench/fit_bench.ts --throughput-only --devices webgpu \
  --fitters OnlineTraceFitter --batches 1000,10000,100000,400000 --rounds 3
cp out/fit_bench.json "$OUT/fit_bench_online.json" 2>/dev/null

echo "== fit throughput: TraceFitter (traces read back)"
timeout 90 $D bench/fit_bench.ts --throughput-only --devices webgpu \
  --fitters TraceFitter --batches 1000,10000 --rounds 2
cp out/fit_bench.json "$OUT/fit_bench_trace.json" 2>/dev/null
echo "== done"
date -u
