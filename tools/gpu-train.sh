#!/usr/bin/env bash
# The one-call GPU job: every restoration model trained at once for MINUTES (default 7), the new weights, the log
# and the summary written to $OUT (the device tool brings back at most 8 files, so the weights come as one .tgz).
# Before: `python -m backend pack-data` here (runs/pack, ignored by git, 15 MB), then with the device tool:
#   run(command="bash tools/gpu-train.sh 7", carry=["runs/pack"], timeout_s=600)
# After: tar xzf weights.tgz -C runs/gpu; `python -m backend eval TASK --weights runs/gpu/TASK.safetensors`, and
# ship a file only when it scores better than the manifest (weights/README.md).
# DEVICE=cpu TASKS=sr2 PYTHON=.venv/bin/python OUT=/tmp/o bash tools/gpu-train.sh 0.1 tries it here.
set -uo pipefail
minutes=${1:-7}
out=${OUT:-runs/gpu-out}
mkdir -p "$out"
work=$(mktemp -d)
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.txt"
"${PYTHON:-python3}" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' >>"$out/gpu.txt"
PYTHONUNBUFFERED=1 "${PYTHON:-python3}" -m backend train-all --minutes "$minutes" --data runs/pack --device "${DEVICE:-cuda}" \
    --out "$work" --batch "${BATCH:-64}" --patch "${PATCH:-128}" --workers "${WORKERS:-3}" ${TASKS:+--tasks "$TASKS"} \
    >"$out/summary.txt" 2>&1
status=$?
(cd "$work" && tar czf - ./*.safetensors) >"$out/weights.tgz"
cp "$work/train-all.log" "$work/summary.json" "$out/" 2>/dev/null
exit $status
