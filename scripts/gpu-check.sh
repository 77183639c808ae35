#!/usr/bin/env bash
# The GPU measurement of DEVELOPERS.md ("GPU"), for a GPU machine that has neither Node nor
# this project's packages and cannot download them (the accelerator machine lent to some
# sessions). Two steps:
#
#   scripts/gpu-check.sh pack          here, after `npm ci`: writes .gpu-check/pack.tar.xz
#                                      (about 37 MB; .gpu-check/ is ignored by git)
#   scripts/gpu-check.sh run [steps [bench:gpu options]]
#                                      there, from the repository root: unpacks it into a
#                                      temporary folder and runs bench:gpu from it
#   scripts/gpu-check.sh profile [bench:profile options]
#                                      there: bench:profile on WebGPU, per tfjs kernel,
#                                      recorded as bench/records/profile-<date>.md
#
# The pack holds what bench:gpu loads and the GPU machine may lack: this Node binary,
# bench/gpu.ts bundled with tfjs by esbuild (with tfjs's .wasm files), the native addon with
# the oneDNN it opens (and that library's own needs), Dawn (the npm package webgpu) for
# Linux x64, Debian's Vulkan loader and the GL dispatch libraries an NVIDIA driver's Vulkan
# ICD loads, bench/engine_torch.py, package.json, and COMMIT (the packed commit, for the
# record). `run` measures the six bench:engine models at batch 128 on WebGPU, on the CPU
# path (wasm with the native addon, every core) and, where its python3 has PyTorch, on CUDA
# and the CPU; it writes bench/records/gpu-<date>.json and a log to $OUT (else
# .gpu-check/out), for `npm run bench:report`.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=/usr/lib/x86_64-linux-gnu

pack() {
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage"/{bin,lib,bench,node_modules/webgpu/dist/linux-x64} .gpu-check
  [ -e native/build/Release/ticketlab_blas.node ] || npm run build:native
  npx esbuild bench/gpu.ts bench/profile.ts --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --ignore-annotations --log-level=warning --outdir="$stage/bench" \
    --out-extension:.js=.mjs \
    --banner:js="import { createRequire as _cr } from 'node:module'; const require = _cr(import.meta.url); const __filename = import.meta.filename; const __dirname = import.meta.dirname;"
  cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$stage/bench/"
  cp bench/engine_torch.py "$stage/bench/"
  cp package.json "$stage/"
  # bench/records.ts decides what "dirty" means (code changed, not results)
  npx tsx -e 'import("./bench/records.ts").then(({ theseVersions }) => {
    const { commit, dirty } = theseVersions();
    console.log(commit, dirty ? "dirty" : "");
  })' > "$stage/COMMIT"
  cp node_modules/webgpu/{index.js,package.json} "$stage/node_modules/webgpu/"
  cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/node_modules/webgpu/dist/linux-x64/"
  cp "$(command -v node)" "$stage/bin/node"
  cp native/build/Release/ticketlab_blas.node "$stage/lib/"
  for so in libdnnl.so.2 libOpenCL.so.1 libgomp.so.1; do
    if [ -e "$lib/$so" ]; then cp -L "$lib/$so" "$stage/lib/"; else echo "no $lib/$so: packed without it" >&2; fi
  done
  # Debian's Vulkan loader and GL dispatch (libGLX_nvidia, the NVIDIA ICD, needs libGLdispatch)
  (
    cd "$stage"
    local debs='libvulkan1 libglvnd0 libglx0 libegl1'
    # shellcheck disable=SC2086 # the package names are words
    apt-get download $debs > /dev/null 2>&1 || { apt-get update -qq && apt-get download $debs > /dev/null; }
    for deb in *.deb; do dpkg -x "$deb" root; done
    rm ./*.deb
    cp -P root/usr/lib/x86_64-linux-gnu/*.so* lib/
    rm -rf root
  )
  tar -C "$stage" -cf - . | xz -T0 -6 > .gpu-check/pack.tar.xz
  ls -l .gpu-check/pack.tar.xz
}

# Unpacks the pack into $dir and sets up the environment to run from it.
unpack() {
  out=${OUT:-$PWD/.gpu-check/out}
  [ -e .gpu-check/pack.tar.xz ] || {
    echo 'no .gpu-check/pack.tar.xz: run `scripts/gpu-check.sh pack` where npm ci ran' >&2
    exit 1
  }
  dir=$(mktemp -d)
  xz -dc .gpu-check/pack.tar.xz | tar -C "$dir" -xf -
  mkdir -p "$out"
  export PATH="$dir/bin:$PATH" LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export TICKETLAB_ADDON="$dir/lib/ticketlab_blas.node"
  # The driver's ICD manifest, where the machine mounts the driver rather than installing it
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -e "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* &> /dev/null; then
    export VK_DRIVER_FILES=$icd
  fi
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
}

run() {
  local steps=${1:-20}
  shift || true
  unpack
  (cd "$dir" && node bench/gpu.mjs --batch 128 --steps "$steps" --rounds 3 --record "$@") 2>&1 |
    tee "$out/gpu-check.log"
  cp "$dir"/bench/records/gpu-*.json "$dir/bench/results/gpu.json" "$out/"
}

# bench:profile on the WebGPU backend: where a step's time goes, per tfjs kernel.
profile() {
  unpack
  (cd "$dir" && TICKETLAB_BACKEND=webgpu node bench/profile.mjs --backend webgpu --record "$@") 2>&1 |
    tee "$out/gpu-profile.log"
  cp "$dir"/bench/records/profile-*.md "$out/"
}

# Any node command in the unpacked tree, e.g. a CPU profile of one bench:gpu measurement:
#   TICKETLAB_BACKEND=webgpu scripts/gpu-check.sh node --cpu-prof --cpu-prof-dir="$OUT" \
#     bench/gpu.mjs --child resnet-20 --batch 128 --steps 10 --rounds 1
node_in_pack() {
  unpack
  (cd "$dir" && node "$@")
}

case "${1:-}" in
  pack) pack ;;
  run) shift && run "$@" ;;
  profile) shift && profile "$@" ;;
  node) shift && node_in_pack "$@" ;;
  *)
    echo 'usage: scripts/gpu-check.sh pack | run [steps [bench:gpu options]] | profile [bench:profile options] | node [arguments]' >&2
    exit 2
    ;;
esac
