#!/usr/bin/env bash
# The one-call GPU speed job (tools/gpu_speed.py): every shipped restoration model through the real pipeline on torch
# CUDA at fp32/fp16/bf16, and on ONNX Runtime's CUDA provider if the machine's onnxruntime has one (the device machine
# has no network: nothing is installed; without it the JSON says ONNX Runtime's CUDA was not measured), at 1, 4 and
# 16 output megapixels, then whether a 24 MP image fits as one tile. Writes gpu-speed.json, gpu.txt and the log to
# $OUT. With the device tool (about 7 minutes of measuring, inside the budget):
#   run(command="bash tools/gpu-speed.sh", timeout_s=540)
# DEVICE=cpu SIZES=0.05 FIT=0.1 MODELS=denoise PRECISIONS=fp32 PYTHON=.venv/bin/python OUT=/tmp/o bash
# tools/gpu-speed.sh tries it here.
set -uo pipefail
out=${OUT:-runs/gpu-out}
mkdir -p "$out"
py=${PYTHON:-python3}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.txt"
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' >>"$out/gpu.txt" 2>&1
"$py" -c 'import onnxruntime as o; print("onnxruntime", o.__version__, o.get_available_providers())' \
    >>"$out/gpu.txt" 2>&1 || echo "onnxruntime: not installed" >>"$out/gpu.txt"
PYTHONUNBUFFERED=1 "$py" tools/gpu_speed.py "$out/gpu-speed.json" --device "${DEVICE:-cuda}" \
    --sizes "${SIZES:-1,4,16}" --precisions "${PRECISIONS:-fp32,fp16,bf16}" --fit "${FIT:-24}" \
    --budget "${BUDGET:-420}" ${MODELS:+--models "$MODELS"} 2>&1 | tee "$out/gpu-speed.log"
