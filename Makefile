# Imagine Flash: two set-up commands, `make demo` and `make test`. Both are idempotent: a second run
# reuses the installed venv and node_modules (stamps are newer than the lock files).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM := /usr/bin/chromium
export ONNXRUNTIME_NODE_INSTALL := skip
export ONNXRUNTIME_NODE_INSTALL_CUDA := skip
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test test-python test-web test-e2e typecheck deps-python deps-node deps-chromium clean

demo: deps-node
	npm run build
	@echo "Serving Imagine Flash with the bundles in models/ at http://localhost:4173/"
	npm run preview

test: deps-chromium deps-python deps-node
	$(MAKE) --no-print-directory test-python typecheck test-web test-e2e

test-python: deps-python
	$(PY) -m pytest tests/distill

typecheck: deps-node
	npm run typecheck

test-web: deps-node
	npm run test:unit

test-e2e: deps-node deps-chromium
	npm run test:e2e

deps-python: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; the distill package needs Python 3.11" >&2; exit 1; }
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV) || { echo "error: could not create $(VENV) (is python3.11-venv installed?)" >&2; exit 1; }
	@# torch first and alone: 2.13.0 is the CPU build on this machine's disk; every later pin accepts it
	$(PY) -m pip install -q torch==2.13.0 || { echo "error: pip could not install torch==2.13.0 (the CPU build)" >&2; exit 1; }
	$(PY) -m pip install -q -r requirements.txt || { echo "error: pip could not install requirements.txt" >&2; exit 1; }
	@$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__; assert not torch.cuda.is_available() or True" \
	  || { echo "error: the venv holds another torch than 2.13.0" >&2; exit 1; }
	touch $@

deps-node: node_modules/.installed
node_modules/.installed: package-lock.json package.json
	@command -v npm >/dev/null || { echo "error: npm not found; the app needs Node 20 and npm" >&2; exit 1; }
	npm ci --no-audit --no-fund || { echo "error: npm ci failed (see above)" >&2; exit 1; }
	touch $@

deps-chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian chromium for Playwright (never Playwright's own browser download)"; \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
	    || { echo "error: could not apt-get install chromium (needs root and the Debian registry); Playwright tests need $(CHROMIUM)" >&2; exit 1; }; \
	fi

clean:
	rm -rf dist test-results playwright-report .tmp-bench

# ---- benchmark: a report (reports/BENCH.md, reports/bench.json), never a test with a time limit ----
# make bench [BUNDLE=tests/fixtures/tiny-bundle] [RUNS=20] [WEBGPU_RUNS=3]
# Every recipe (flash-1 with the tiny decoder too, where the bundle has one), cold start, the seed grid against four
# single images, live mode (a prompt typed at 8 characters/s, ?live=1), native onnxruntime, WebGPU.
BUNDLE ?= models/shapescenes
# RUNS also names the training runs folder below: only a RUNS given on the command line counts here.
BENCH_RUNS = $(if $(filter command line,$(origin RUNS)),$(RUNS),20)
WEBGPU_RUNS ?= 3
.PHONY: bench bench-ab
bench: deps-node deps-python deps-chromium
	npm run build
	npx tsc -p bench/tsconfig.json
	node .tmp-bench/run.js --bundle $(BUNDLE) --runs $(BENCH_RUNS) --webgpu-runs $(WEBGPU_RUNS) \
	  --command "make bench BUNDLE=$(BUNDLE) RUNS=$(BENCH_RUNS) WEBGPU_RUNS=$(WEBGPU_RUNS)"

# two builds side by side, alternating generations: before/after ratios (appended to reports/BENCH_FIXES.md), e.g.
#   git stash; npm run build; cp -r dist /tmp/dist-before; git stash pop; make bench-ab A=/tmp/dist-before
# RECIPES may name flash-1-tiny (flash-1 with the tiny decoder), which a build without one runs as flash-1.
A ?=
B ?= dist
RECIPES ?= flash-3,teacher
bench-ab: deps-node deps-chromium
	@[ -n "$(A)" ] || { echo "set A=<the 'before' build folder> (B defaults to dist, rebuilt here)"; exit 2; }
	npm run build
	npx tsc -p bench/tsconfig.json
	node .tmp-bench/ab.js --a $(A) --b $(B) --bundle $(BUNDLE) --recipes $(RECIPES) --runs $(BENCH_RUNS) \
	  --out reports/BENCH_FIXES.md

# ---- training the shipped model (hours on this 2-core CPU; every stage resumes where it stopped) ----
RUNS ?= $(HOME)/.cache/imagine-flash
CHUNK ?= 60
TEACHER ?= $(RUNS)/teacher-bal/pipeline
.PHONY: train-vae train-vae-decoder train-text train-teacher train-teacher-relations train-teacher-balance bundle
train-vae: deps-python
	$(PY) -m distill train-vae --config distill/configs/vae.json --run-dir $(RUNS)/vae --max-minutes $(CHUNK)
	$(PY) -m distill train-vae --config distill/configs/vae_phase2.json --init-from $(RUNS)/vae \
	  --run-dir $(RUNS)/vae2 --max-minutes $(CHUNK)
# the decoder alone, on vae2's latents (its encoder frozen): every model trained on vae2 stays valid
train-vae-decoder: deps-python
	$(PY) -m distill train-vae --config distill/configs/vae_decoder.json --init-from $(RUNS)/vae2 \
	  --run-dir $(RUNS)/vae3-decoder --max-minutes $(CHUNK)
train-text: deps-python
	$(PY) -m distill train-text --config distill/configs/text.json --run-dir $(RUNS)/text --max-minutes $(CHUNK)
	$(PY) -m distill train-text --config distill/configs/text_phase2.json --init-text-from $(RUNS)/text \
	  --run-dir $(RUNS)/text2 --max-minutes $(CHUNK)
train-teacher: deps-python
	$(PY) -m distill train-teacher --config distill/configs/teacher.json --vae-run $(RUNS)/vae2 \
	  --text-run $(RUNS)/text2 --run-dir $(RUNS)/teacher --max-minutes $(CHUNK)
# phase 2 from phase 1's weights: the relation loss on the text states, more relation scenes, lr decay
train-teacher-relations: deps-python
	$(PY) -m distill train-teacher --config distill/configs/teacher_relations.json --vae-run $(RUNS)/vae2 \
	  --text-run $(RUNS)/text2 --run-dir $(RUNS)/teacher-rel --init-weights $(RUNS)/teacher --max-minutes $(CHUNK)
# phase 3 from phase 2's weights: a quarter of each batch from relation scenes, batch 128 (on a GPU 1,600 steps took about
# 2.7 min; on this CPU an estimated 80 min)
train-teacher-balance: deps-python
	$(PY) -m distill train-teacher --config distill/configs/teacher_balance.json --vae-run $(RUNS)/vae3-decoder \
	  --text-run $(RUNS)/text2 --run-dir $(RUNS)/teacher-bal --init-weights $(RUNS)/teacher-rel --max-minutes $(CHUNK)
	$(PY) -m distill save-teacher --teacher-run $(RUNS)/teacher-bal --vae-run $(RUNS)/vae3-decoder --out $(TEACHER)
# the shipped bundle: the teacher folder (from checkpoints/ when no run made one) and, per step count, the best phase
# of the students on the dev prompts (3 seeds): flash-1 from the dedicated 1-step student (train-flash-1, its fourth
# stage), flash-2 from the dedicated 2-step student (train-flash-2, its second stage), flash-3 from the 2- and 3-step
# student (train-flash-23)
bundle: deps-python teacher-folder
	$(PY) -m distill export --teacher $(TEACHER) --out models/shapescenes --name "ShapeScenes" \
	  --students-run $(call student_dir,flash-1-dmd-ttur):flash-1 --students-run $(call student_dir,flash-2-dmd):flash-2 \
	  --students-run $(call student_dir,flash-23-mix):flash-3 \
	  --tiny-decoder checkpoints/tiny-decoder
# the optional tiny VAE decoder (vae_decoder_tiny/): distilled from the teacher's VAE decoder on its latents and the
# shipped students' (4,000 steps: about 25 min on this CPU's two cores), packed as fp16 into checkpoints/tiny-decoder
.PHONY: train-tiny-decoder
train-tiny-decoder: deps-python teacher-folder
	$(PY) -m distill tiny-decoder --teacher $(TEACHER) --config distill/configs/tiny_decoder.json \
	  --run-dir $(RUNS)/tiny-decoder/run --max-minutes $(CHUNK)
	$(PY) -m distill weights --run-dir $(RUNS)/tiny-decoder/run --out checkpoints/tiny-decoder
# a phase's run folder when this machine trained it, else its packed copy in checkpoints/ (phase 3's is any-step)
student_dir = $(if $(wildcard $(STUDENTS)/$(1)/ckpt.pt),$(STUDENTS)/$(1),$(if $(filter any-step-p3,$(1)),$(PACKED_STUDENT),checkpoints/students/$(1)))

# ---- the shipped students: one student learns 1, 2 and 3 steps (issue 15's recipe: γ shifted for 16² latents on the
# structure steps, k = 4 teacher steps, every t in every batch, EMA, cosine lr). Phase 1 (1,022 steps of a 2,000-step
# cosine) gives every trajectory an equal share of the batch; phase 2 continues its EMA weights with half the batch at
# t = 999, the one step of the 1-step student; phases 3 and 4 continue the last EMA weights on fresh cosines (1,000
# and 1,750 steps).
# About 3 s a step on a 2-core AVX2 EPYC in fp32.
STUDENTS ?= $(RUNS)/students
PACKED_STUDENT := checkpoints/students/any-step
# the dedicated 1-step student: phase 4's EMA weights, the whole batch at t = 999, SRL re-noising half of the rows with
# the student's own x_T (srl_noise=mix); 250 steps at a constant lr (about 15 min here), then 400 more from its EMA
# weights on a cosine to 0 (about 25 min), then 250 with distribution matching beside SRL (dm_weight 0.5; about 23 min)
.PHONY: train-flash-1
train-flash-1: deps-python teacher-folder
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_1step_sweep.json --set srl_noise=mix \
	  --init-student $(call student_dir,any-step-p4)/unet --run-dir $(STUDENTS)/flash-1-mix --max-minutes $(CHUNK)
	$(PY) -m distill weights --run-dir $(STUDENTS)/flash-1-mix --out checkpoints/students/flash-1-mix
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_1step_sweep.json --set srl_noise=mix \
	  lr_schedule=cosine max_steps=400 lr_schedule_steps=400 eval_every=200 \
	  --init-student checkpoints/students/flash-1-mix/unet --run-dir $(STUDENTS)/flash-1-decay --max-minutes $(CHUNK)
	$(PY) -m distill weights --run-dir $(STUDENTS)/flash-1-decay --out checkpoints/students/flash-1-decay
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_1step_dmd.json --set max_steps=250 \
	  --init-student checkpoints/students/flash-1-decay/unet --run-dir $(STUDENTS)/flash-1-dmd --max-minutes $(CHUNK)
	$(PY) -m distill weights --run-dir $(STUDENTS)/flash-1-dmd --out checkpoints/students/flash-1-dmd
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_1step_dmd.json --set max_steps=200 \
	  eval_every=100 learning_rate=1e-5 fake_updates=2 dm_guidance_scale=2.5 \
	  --init-student checkpoints/students/flash-1-dmd/unet --run-dir $(STUDENTS)/flash-1-dmd-ttur --max-minutes $(CHUNK)
	$(PY) -m distill weights --run-dir $(STUDENTS)/flash-1-dmd-ttur --out checkpoints/students/flash-1-dmd-ttur
# the 2- and 3-step student with srl_noise=mix: phase 3's EMA weights, every trajectory of the 2- and 3-step schedules
# in equal shares, a 500-step cosine from lr 3e-5 (about 5 s a step here)
.PHONY: train-flash-23
train-flash-23: deps-python teacher-folder
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_23step_mix.json \
	  --init-student $(call student_dir,any-step-p3)/unet --run-dir $(STUDENTS)/flash-23-mix --max-minutes $(CHUNK)
	$(PY) -m distill weights --run-dir $(STUDENTS)/flash-23-mix --out checkpoints/students/flash-23-mix
# the dedicated 2-step student: flash-23-mix's EMA weights, its 2-step trajectories in equal shares, half of each
# trajectory's rows with flash-23-mix's own 3-step sample from the row's x_T as the target (guide_unet); 500 steps at
# a constant lr (about 3.4 s a step here); then 362 steps more with distribution matching beside it (about 4.3 s)
.PHONY: train-flash-2
train-flash-2: deps-python teacher-folder
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_2step_guide.json \
	  --init-student checkpoints/students/flash-23-mix/unet --run-dir $(STUDENTS)/flash-2-guide --max-minutes $(CHUNK)
	$(PY) -m distill weights --run-dir $(STUDENTS)/flash-2-guide --out checkpoints/students/flash-2-guide
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_2step_guide.json --set dm_weight=0.5 \
	  max_steps=362 eval_every=125 --init-student checkpoints/students/flash-2-guide/unet --run-dir $(STUDENTS)/flash-2-dmd --max-minutes $(CHUNK)
	$(PY) -m distill weights --run-dir $(STUDENTS)/flash-2-dmd --out checkpoints/students/flash-2-dmd
.PHONY: train-students pack-students student-curves
train-students: deps-python teacher-folder
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_any_step.json \
	  --run-dir $(STUDENTS)/any-step --max-minutes $(CHUNK)
	@$(PY) -c "import sys; from distill.evaluation.experiments import training_state as s; st = s('$(STUDENTS)/any-step'); \
	  sys.exit(0 if st and st[0] >= st[1] else 'phase 1 is not finished: run make train-students again')"
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_any_step_phase2.json \
	  --run-dir $(STUDENTS)/any-step-p2 --init-student $(STUDENTS)/any-step/unet --max-minutes $(CHUNK)
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_any_step_phase3.json \
	  --run-dir $(STUDENTS)/any-step-p3 --init-student $(STUDENTS)/any-step-p2/unet --max-minutes $(CHUNK)
	$(PY) -m distill flash --teacher $(TEACHER) --config distill/configs/flash_any_step_phase4.json \
	  --run-dir $(STUDENTS)/any-step-p4 --init-student $(STUDENTS)/any-step-p3/unet --max-minutes $(CHUNK)
# the finished (or interrupted) last phase into git: fp16 EMA UNet + run record; `distill flash --init-student
# $(PACKED_STUDENT)/unet` continues it on another machine
pack-students: deps-python
	$(PY) -m distill weights --run-dir $(STUDENTS)/any-step-p3 --out $(PACKED_STUDENT)
	$(PY) -m distill weights --run-dir $(STUDENTS)/any-step-p4 --out checkpoints/students/any-step-p4
student-curves: deps-python
	$(PY) -m distill curves --run "phase 1=$(STUDENTS)/any-step" --run "phase 2=$(STUDENTS)/any-step-p2" \
	  --run "phase 3=$(STUDENTS)/any-step-p3" --run "phase 4=$(STUDENTS)/any-step-p4" --offset "phase 2=1022" \
	  --offset "phase 3=1956" --offset "phase 4=2716" --out reports/students/curves

# ---- the paper's Tables 1 and 3 ($(RESULTS)/RESULTS.md): trains every missing student for at most TRAIN_MINUTES
# per run (resumable: run it again until the report lists nothing as "not yet run"), evaluates with caching. Every
# student trains to one pass budget (distill reproduce's default: what 500 steps of the 3-step Imagine Flash student
# cost) and is also saved at step 500, for the equal-steps tables; ONLY=<row names> restricts a run; SWEEP=<lcm add
# progressive> also trains those baselines' tuning sweeps ----
TRAIN_MINUTES ?= 60
ONLY ?=
SWEEP ?=
.PHONY: reproduce teacher-folder
# the shipped teacher's results (reports/README.md names the teachers; reports/archive/ holds the older tables)
RESULTS ?= reports/teacher-13921
reproduce: deps-python teacher-folder
	$(PY) -m distill reproduce --teacher $(TEACHER) --runs $(RUNS)/reproduce --train-minutes $(TRAIN_MINUTES) \
	  --set mixed_precision=auto --eval-dir $(RESULTS)/eval --report $(RESULTS)/RESULTS.md $(if $(ONLY),--only $(ONLY)) \
	  $(if $(SWEEP),--sweep $(SWEEP))
# the committed teacher (checkpoints/) as a diffusers folder when no trained run folder exists on this machine
teacher-folder: deps-python
	@[ -f $(TEACHER)/model_index.json ] || $(PY) -m distill save-teacher --teacher-run checkpoints/teacher \
	  --vae-run checkpoints/vae --text-run checkpoints/text --out $(TEACHER)
