#!/usr/bin/env bash
# Train the fungal base-model recipe on a lent GPU for a fixed time, then hand the run's state back.
#
#   bash experiments/train_base_model_gpu.sh [ARCH] [MINUTES] [OUTDIR]
#
# ARCH: small, mid or released (default released: upstream's released size); MINUTES of training (default 8);
# OUTDIR receives last.ckpt, metrics.csv, best.safetensors, progress.json and the curves (default $OUT, else
# ./gpu_run). Needs the split h5 files of `build_base_model.py data` in scratch/fungal_base (about 36 MB:
# carry that folder); no FASTA, GFF3 or pysam is needed on the GPU machine. The run continues from
# experiments/base_model/ARCH/run/last.ckpt when it is there, so CPU and GPU sessions extend the same run.
# Training runs in bfloat16 autocast (`--precision auto` picks bf16-mixed on GPUs with bfloat16).
# CADENCE=CHECK,CHECKPOINT overrides the batches between validation checks and checkpoints (a short test).
set -euo pipefail
arch=${1:-released}
minutes=${2:-8}
out=${3:-${OUT:-gpu_run}}
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
python=${PYTHON:-python3}
work=scratch/fungal_base
ls "$work"/*_training_data.h5 "$work"/*_validation_data.h5 > /dev/null
mkdir -p "$work/train_dir"
for kind in training validation; do
  for file in "$work"/*_"$kind"_data.h5; do
    name=$(basename "$file" "_${kind}_data.h5")
    ln -sf "../$(basename "$file")" "$work/train_dir/${kind}_data_${name}.h5"
  done
done
accelerator=gpu
"$python" -c "import torch; raise SystemExit(0 if torch.cuda.is_available() else 1)" || accelerator=cpu
hours=$("$python" -c "print($minutes / 60)")
"$python" experiments/build_base_model.py train --arch "$arch" --hours "$hours" --accelerator "$accelerator" \
  --threads "${THREADS:-8}" --work "$work" ${CADENCE:+--cadence "$CADENCE"} || echo "training stopped with exit code $? (state kept)"
mkdir -p "$out/$arch"
state=experiments/base_model/$arch
for f in run/last.ckpt run/metrics.csv run/learning_curves.png best.safetensors progress.json; do
  [ -e "$state/$f" ] && cp "$state/$f" "$out/$arch/"
done
tail -n 5 "$state/train.log" || true
ls -la "$out/$arch"
