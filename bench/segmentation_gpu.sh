#!/usr/bin/env bash
# Train the lesion segmenter on a machine with an NVIDIA GPU and no network, from the pack that
# bench/segmentation_pack.py wrote into .gpu-seg/ (copied beside this tree):
#   bench/segmentation_gpu.sh OUTPUT_DIR [SECONDS]
# Needs python3 with torch (CUDA), timm, numpy, opencv and safetensors; no Django. Unpacks the
# images and masks on all cores, trains until early stopping or SECONDS (default 330), and
# leaves OUTPUT_DIR/seg (weights.safetensors, history.json, card.json) and train.log. Finish on
# any machine with: python manage.py train_segmentation --finish OUTPUT_DIR/seg --data DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output directory}
budget=${2:-330}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
data=$(mktemp -d)/ham
python3 bench/segmentation_pack.py --unpack .gpu-seg "$data"
python3 -m training.segmentation.train --data "$data" --out "$out/seg" \
    --encoder-weights .gpu-seg/lite0_imagenet_fp16.safetensors \
    --image-size 192 --store-size 224 --batch-size 32 --epochs 60 --patience 10 \
    --lr 2e-3 --time-limit "$budget" 2>&1 | tee "$out/train.log"
rm -f "$out/seg/last.pt"  # 40 MB of optimizer state: not worth bringing back
