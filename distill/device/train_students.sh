#!/usr/bin/env bash
# A long student stage on a lent accelerator machine (one GPU; see the device tool's README), brought back as a packed
# student (fp16 EMA UNet + run record) that `make bundle` ships and `distill flash --init-student` continues from.
#
# Prepare here, once (the GPU image has torch, transformers and accelerate, not diffusers):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux2014_x86_64 -d .whl diffusers==0.42.1
# Then, through the device tool (carry .whl; the teacher comes from checkpoints/, so nothing else travels), e.g. the
# dedicated 1-step student continued from the shipped one:
#   run(command="bash distill/device/train_students.sh distill/configs/flash_1step_sweep.json \
#     checkpoints/students/flash-1-mix flash-1-mix 8 srl_noise=mix", carry=[".whl"], timeout_s=600)
# and copy $OUT/<name>/ over checkpoints/students/<name>/.
set -euo pipefail
CONFIG=${1:?usage: train_students.sh CONFIG INIT_PACKED_STUDENT NAME [MINUTES] [KEY=VALUE ...]}
INIT=${2:?the packed student to start from (checkpoints/students/<name>)}
NAME=${3:?the name of the packed student to bring back}
MINUTES=${4:-8}  # training minutes, inside the tool's 10-minute command limit with start-up and packing
shift $(( $# < 4 ? $# : 4 ))
[ -f "$INIT/unet/config.json" ] || { echo "no packed student at $INIT (expected $INIT/unet/config.json)" >&2; exit 2; }
source distill/device/setup.sh
# batch 256 (8× the CPU's) at √8 × the config's lr, bf16 where the GPU has it
LR=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['learning_rate'] * 8 ** 0.5)" "$CONFIG")
python3 -m distill flash --teacher /tmp/teacher --config "$CONFIG" --run-dir /tmp/run --init-student "$INIT/unet" \
  --set batch_size=256 learning_rate="$LR" max_steps=4000 lr_schedule_steps=4000 eval_every=500 \
  eval_prompts_per_category=50 mixed_precision=auto "$@" --max-minutes "$MINUTES" 2>&1 | tee "$OUT/train.log"
python3 -m distill weights --run-dir /tmp/run --out "$OUT/$NAME"
ls -l "$OUT/$NAME" "$OUT/$NAME/unet"
