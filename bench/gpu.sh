#!/usr/bin/env bash
# The GPU worker check, as one prepared command for a machine with an NVIDIA GPU:
#   bench/gpu.sh [OUTPUT_DIR]
# Latency, throughput and parity with the CPU result of the served model (see
# bench/gpu_check.py). Needs python3 with torch (CUDA), timm, onnxruntime, opencv-python-headless,
# safetensors and pillow; no Django, no database. Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/gpu}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
PYTHONUNBUFFERED=1 python3 bench/gpu_check.py --json "$out/gpu_check.json"
