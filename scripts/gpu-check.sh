#!/usr/bin/env bash
# GPU measurement for the accelerator machine (installs nothing from outside): WebGPU against
# the best CPU path for the four models at batch 128 (npm run bench:gpu), then PyTorch on the
# GPU where it is installed there. Run from the repository root with node_modules present:
#
#   scripts/gpu-check.sh [steps]
#
# Dawn loads the Vulkan loader (libvulkan.so.1) and the GPU driver's ICD at run time. Where
# the machine lacks the loader, copy it beside the code first (an ignored folder):
#   mkdir -p .gpu-check/lib && cp /usr/lib/x86_64-linux-gnu/libvulkan.so.1* .gpu-check/lib/
# Results: bench/results/gpu.json and bench/results/gpu-torch.txt, for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-20}
if ! ldconfig -p 2> /dev/null | grep -q 'libvulkan\.so\.1'; then
  [ -e .gpu-check/lib/libvulkan.so.1 ] || {
    echo 'no libvulkan.so.1 here: copy it into .gpu-check/lib (see the top of this script)' >&2
    exit 1
  }
  export LD_LIBRARY_PATH="$PWD/.gpu-check/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2> /dev/null || echo 'no Vulkan ICD manifests found'
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2> /dev/null || true
mkdir -p bench/results
npm run bench:gpu -- --batch 128 --steps "$steps"
# PyTorch on the GPU, where present: ResNet-20 (bench/torch_gpu.py) at the same batch.
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2> /dev/null; then
  python3 bench/torch_gpu.py 128 "$steps" | tee bench/results/gpu-torch.txt
else
  echo 'PyTorch with CUDA is not installed here: no PyTorch comparison' | tee bench/results/gpu-torch.txt
fi
