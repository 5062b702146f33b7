#!/usr/bin/env bash
# The training half of `make reproduce` (issue: Tables 1 and 3 at equal compute) on a lent accelerator machine: trains
# the named rows' runs at the default pass budget and brings each back packed (fp16 student + run record, with its
# snapshot at the equal-steps step), to be copied into this machine's runs folder and evaluated here by
# `make reproduce` (the packed runs read as finished; evaluation is cheap on the CPU, training is not).
#
# Prepare the .whl folder as train_students.sh says, then through the device tool, e.g.:
#   run(command="bash distill/device/reproduce.sh 8 flash-1 flash-2 flash-3", carry=[".whl"], timeout_s=600)
# (SWEEP="lcm add progressive" bash distill/device/reproduce.sh … also trains those baselines' tuning sweeps)
# and copy $OUT/runs/* into $(RUNS)/reproduce/teacher-<hash>/passes-<budget>/ (the script prints the folder name).
set -euo pipefail
MINUTES=${1:?usage: reproduce.sh MINUTES ROW [ROW ...]}
shift
[ $# -gt 0 ] || { echo "name the rows to train (python -m distill reproduce --only takes the same names)" >&2; exit 2; }
source distill/device/setup.sh
# the same batch and budget as on the CPU (equal compute is the point); bf16 where the GPU has it; no evaluation here
# (--train-only: the CPU evaluates the packed weights it is given, so its cache keys are theirs)
python3 -m distill reproduce --teacher /tmp/teacher --runs /tmp/runs --train-minutes "$MINUTES" --train-only \
  --set mixed_precision=auto ${SWEEP:+--sweep $SWEEP} --only "$@" 2>&1 | tee "$OUT/train.log"
for run in /tmp/runs/teacher-*/passes-*/*/; do
  [ -f "$run/ckpt.pt" ] || [ -f "$run/record.json" ] || continue
  name=$(basename "$run"); dest="$OUT/runs/$name"
  python3 -m distill weights --run-dir "$run" --out "$dest"
  for snap in "$run"step-*/; do [ -d "$snap" ] && cp -r "$snap" "$dest/"; done
done
ls -d /tmp/runs/teacher-*/passes-* | tee "$OUT/runs_folder.txt"
