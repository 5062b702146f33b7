# Sourced by the device scripts on the lent machine: diffusers from the carried .whl folder (the GPU image lacks it),
# nothing from a hub, the GPU's name in $OUT/device.txt, and the committed teacher as a diffusers folder in /tmp/teacher.
OUT=${OUT:?this script runs on the device machine, where OUT is set}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"
python3 -m distill save-teacher --teacher-run checkpoints/teacher --vae-run checkpoints/vae --text-run checkpoints/text \
  --out /tmp/teacher
