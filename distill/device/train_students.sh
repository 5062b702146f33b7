#!/usr/bin/env bash
# The long student stage on a lent accelerator machine (one GPU; see the device tool's README), brought back as the
# packed student (fp16 EMA UNet + run record) that `make bundle` ships and `make train-students` continues from.
#
# Prepare here, once (the GPU image has torch, transformers and accelerate, not diffusers):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux2014_x86_64 -d .whl diffusers==0.42.1
# Then, through the device tool (carry .whl; the teacher comes from checkpoints/, so nothing else travels):
#   run(command="bash distill/device/train_students.sh 8", carry=[".whl"], timeout_s=600)
# and copy the files it lists from $OUT/any-step/ into checkpoints/students/any-step/.
set -euo pipefail
MINUTES=${1:-8}  # training minutes, inside the tool's 10-minute command limit with start-up and packing
OUT=${OUT:?this script runs on the device machine, where OUT is set}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"
python3 -m distill save-teacher --teacher-run checkpoints/teacher --vae-run checkpoints/vae --text-run checkpoints/text \
  --out /tmp/teacher
# continue the packed student with the phase-2 recipe when there is one, else phase 1 from the teacher
CONFIG=distill/configs/flash_any_step.json INIT=()
if [ -f checkpoints/students/any-step/unet/config.json ]; then
  CONFIG=distill/configs/flash_any_step_phase2.json INIT=(--init-student checkpoints/students/any-step/unet)
fi
# batch 256 (8× the CPU's) at 2.8× the lr (√8 scaling), bf16 where the GPU has it
python3 -m distill flash --teacher /tmp/teacher --config "$CONFIG" --run-dir /tmp/run \
  --set batch_size=256 learning_rate=2.8e-4 max_steps=4000 lr_schedule_steps=4000 eval_every=500 \
  eval_prompts_per_category=50 mixed_precision=auto --max-minutes "$MINUTES" "${INIT[@]}" 2>&1 | tee "$OUT/train.log"
python3 -m distill weights --run-dir /tmp/run --out "$OUT/any-step"
ls -l "$OUT/any-step" "$OUT/any-step/unet"
