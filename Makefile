# hybridcodec: `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The exact torch build is pinned here (a local CPU wheel); setup.cfg only declares a range.
TORCH  := torch==2.13.0
DATA   ?= ../shared/data
BUDGET ?= 5400
FULL_BUDGET ?= 4500
FAST_BUDGET ?= 1500
STAMP  := $(VENV)/.installed-stamp

JPEG_V2_BUDGET ?= 5400
JPEG_V2_DATA = $(DATA)/train-extra/bsd100 $(DATA)/train-extra/sunhays80 $(DATA)/train
JPEG_V2_ARGS = --base jpeg --budget $(JPEG_V2_BUDGET) --patch 64 --batch 16 --threads 1 --rounds 0 \
  --lr 0.0002 --log-every 25

GPU_SLICE ?= 480
K ?= 1

.PHONY: help venv demo test wheel-check lane bench speed export train train-full distill jpeg-v2 decoders big-images ablation \
  adapt-experiments recipe keep-training gpu-pack train-gpu clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[test,train]'
	touch $(STAMP)

venv: $(STAMP) ## Create .venv and install (torch pinned first)

demo: $(STAMP) ## Compress the bundled sample with --base jpeg2000, decompress, print bpp and PSNR
	@mkdir -p build
	$(BIN)/hybridcodec compress samples/kodim23.png build/demo.hyc --base jpeg2000 --bpp 0.25 --force -v
	$(BIN)/hybridcodec info build/demo.hyc
	$(BIN)/hybridcodec decompress build/demo.hyc build/demo.png --force
	$(BIN)/hybridcodec psnr samples/kodim23.png build/demo.png --bits build/demo.hyc

wheel-check: $(STAMP) ## Build the wheel, install it without torch in a fresh venv, run the networks
	PYTHON=$(BIN)/python bash .ci/wheel_check

test: $(STAMP) ## Lint (ruff), type-check (mypy) and run the test suite (no GPU, no ../shared)
	$(BIN)/ruff check hybridcodec tests experiments
	$(BIN)/mypy
	$(BIN)/python -m pytest -q tests

bench: $(STAMP) ## RD table, BD-rates and plot on $(DATA)/kodak -> experiments/results/
	$(BIN)/hybridcodec bench $(DATA)/kodak --out experiments/results --efforts 1,5,9
	$(BIN)/python -m experiments.common record "hybridcodec bench $(DATA)/kodak --out experiments/results --efforts 1,5,9" \
	  $(foreach x,.csv .md .png _summary.csv _enhance.csv _effort.csv _effort.md,experiments/results/bench_kodak$(x))

speed: $(STAMP) ## Issue 14 timings on $(DATA)/kodak: engines, encode stages, fast vs exact encode, cold CLI
	$(BIN)/python -m experiments.speed.runtime_speed $(DATA)/kodak
	$(BIN)/python -m experiments.speed.encode_stages $(DATA)/kodak --images 6
	$(BIN)/python -m experiments.speed.encode_speed $(DATA)/kodak --images 8
	$(BIN)/python -m experiments.speed.cold_cli $(DATA)/kodak --images 4 --repeat 3
	$(BIN)/python -m experiments.speed.batch_throughput $(DATA)/kodak

export: $(STAMP) ## Re-export every installed model to ONNX (weights/*.onnx, hashes in the manifest)
	$(BIN)/python -m experiments.train.register_models --export

train: $(STAMP) ## Train both shipped models on $(DATA)/train (BUDGET seconds each, in parallel)
	@mkdir -p runs
	for b in jpeg jpeg2000; do \
	  $(BIN)/hybridcodec train $(DATA)/train --base $$b --name hyc-$$b-v1 --budget $(BUDGET) \
	    --rec-depth 8 --rec-width 32 --com-width 64 --patch 64 --batch 16 --threads 1 \
	    --out runs/$$b-v1 > runs/$$b-v1.log 2>&1 & \
	done; wait
	$(BIN)/python -m experiments.train.register_models runs/jpeg-v1/hyc-jpeg-v1.pt runs/jpeg2000-v1/hyc-jpeg2000-v1.pt

train-full: $(STAMP) ## Train the full-resolution models (issue 4) on $(DATA)/train, in parallel
	@mkdir -p runs
	for b in jpeg jpeg2000; do \
	  $(BIN)/hybridcodec train $(DATA)/train --base $$b --mode full --s2d 2 --name hyc-$$b-full-v1 \
	    --budget $(FULL_BUDGET) --rec-depth 12 --rec-width 64 --com-width 0 --patch 64 --batch 16 \
	    --lr 0.001 --threads 1 --out runs/$$b-full-v1 > runs/$$b-full-v1.log 2>&1 & \
	done; wait
	$(BIN)/python -m experiments.train.register_models runs/jpeg-full-v1/hyc-jpeg-full-v1.pt \
	  runs/jpeg2000-full-v1/hyc-jpeg2000-full-v1.pt

distill: $(STAMP) ## Distil the fast decoders (issue 5) from the shipped models, 2 at a time
	@mkdir -p runs
	for t in jpeg jpeg2000 jpeg-full jpeg2000-full; do \
	  $(BIN)/hybridcodec distill $(DATA)/train --teacher hyc-$$t-v1 --name hyc-$$t-fast-v1 \
	    --budget $(FAST_BUDGET) --threads 1 --out runs/$$t-fast-v1 > runs/$$t-fast-v1.log 2>&1 & \
	  if [ $$t = jpeg2000 ]; then wait; fi; \
	done; wait
	$(BIN)/python -m experiments.train.register_models $(foreach t,jpeg jpeg2000 jpeg-full jpeg2000-full,runs/$(t)-fast-v1/hyc-$(t)-fast-v1.pt)

jpeg-v2: $(STAMP) ## Issue 11: fine-tune the four JPEG networks on jpegli/mozjpeg/turbo files, jpegli decode
	@mkdir -p runs
	$(BIN)/hybridcodec train $(JPEG_V2_DATA) $(JPEG_V2_ARGS) --name hyc-jpeg-full-v2 --init hyc-jpeg-full-v1 \
	  --mode full --s2d 2 --com-width 0 --rec-depth 12 --rec-width 64 --out runs/jpeg-full-v2 > runs/jpeg-full-v2.log 2>&1 & \
	$(BIN)/hybridcodec train $(JPEG_V2_DATA) $(JPEG_V2_ARGS) --name hyc-jpeg-full-fast-v2 --init hyc-jpeg-full-fast-v1 \
	  --mode full --s2d 2 --com-width 0 --rec-depth 6 --rec-width 32 --out runs/jpeg-full-fast-v2 > runs/jpeg-full-fast-v2.log 2>&1 & \
	$(BIN)/hybridcodec train $(JPEG_V2_DATA) $(JPEG_V2_ARGS) --name hyc-jpeg-v2 --init hyc-jpeg-v1 \
	  --mode compact --com-width 64 --rec-depth 8 --rec-width 32 --out runs/jpeg-v2 > runs/jpeg-v2.log 2>&1 & \
	$(BIN)/hybridcodec train $(JPEG_V2_DATA) $(JPEG_V2_ARGS) --name hyc-jpeg-fast-v2 --init hyc-jpeg-fast-v1 \
	  --mode compact --s2d 2 --com-width 64 --rec-depth 6 --rec-width 32 --out runs/jpeg-fast-v2 > runs/jpeg-fast-v2.log 2>&1 & \
	wait
	$(BIN)/python -m experiments.train.register_models $(foreach m,jpeg-full jpeg-full-fast jpeg jpeg-fast,runs/$(m)-v2/hyc-$(m)-v2.pt)

decoders: $(STAMP) ## Issue 11: libjpeg-turbo vs jpegli decoder on each encoder's files (training photos)
	$(BIN)/python -m experiments.rd.jpeg_decoders $(DATA)/train --out experiments/results

big-images: $(STAMP) ## Issue 12: seconds/MP and peak memory at 1, 12, 100 MP and on 1x5000 strips
	$(BIN)/python -m experiments.speed.big_images $(DATA)/train --sizes 1 12 100

HELDOUT = $(DATA)/train $(DATA)/train-extra/bsd100 $(DATA)/train-extra/sunhays80
adapt-experiments: $(STAMP) ## Issue 25: the per-image overfitting experiments on held-out photos (~55 min)
	$(BIN)/python -m experiments.adapt.update_coder $(HELDOUT)
	$(BIN)/python -m experiments.adapt.adapt_recipe $(HELDOUT) --bpp 0.4 --recipes bias-100x8-b1 \
	  last2-100x8-b1 last2-100x8-b0.3 last2-200x8-b0.3 --out experiments/results/adapt_recipe_v3.csv
	$(BIN)/python -m experiments.adapt.adapt_recipe $(HELDOUT) --bpp 0.4 --recipes last2-100x8-b1 \
	  last2-100x8-b1-p1 last2-300x8-b1-p1 last2-300x16-b1-p1 --out experiments/results/adapt_recipe_passes.csv
	$(BIN)/python -m experiments.adapt.adapt_recipe $(HELDOUT) --bpp 0.4 --mosaics 0 --recipes \
	  last2-100x8-b1-p1-lr1e-3 last2-100x8-b1-p1-lr5e-3 --out experiments/results/adapt_recipe_lr.csv
	$(BIN)/python -m experiments.adapt.adapt_sizes $(HELDOUT) --bpp 0.4
	$(BIN)/python -m experiments.adapt.update_decode $(HELDOUT) --images 3
	$(BIN)/python -m experiments.adapt.encode_side $(HELDOUT)
	$(BIN)/python -m experiments.adapt.encode_side_compact $(HELDOUT)

ablation: $(STAMP) ## Module ablation (issues 5, 6): fine-tune hyc-jpeg-v1 with/without each module
	$(BIN)/python -m experiments.train.module_ablation $(DATA)/train $(DATA)/kodak --base jpeg \
	  --budget 480 --init hyc-jpeg-v1 --lr 2e-4 --jobs 2 --threads 1 --variants none,hf,fem,deform

# Issue 22: the training lane (experiments/train/lane.py), in a worktree of its own so that edits never
# touch a running run; its checkpoints are copied to experiments/lane/ (committed before a stop)
LANE_DIR ?= ../lane
# (the m and fast lines first, in turn: their seconds are short of issue 22's 40,000; m-v7=2278
# keeps the budget m-v8 started with, since a resumed run keeps its budget; finished runs are
# "done already"; fast-v9=3600 starts fast-v10, the first re-distilled from v13, before m-v10, so
# that its validation curve is in before the next registration; v13=5400 continues v13 as v14
# once the two lines have their seconds)
LANE_BUDGET ?= hyc-jpeg2000-full-m-v7=2278 hyc-jpeg-full-fast-v7=3600 hyc-jpeg2000-full-m-v8=3600 \
  hyc-jpeg-full-fast-v8=3600 hyc-jpeg-full-fast-v9=3600 hyc-jpeg2000-full-m-v9=3600 \
  hyc-jpeg-full-fast-v10=3600 hyc-jpeg2000-full-m-v10=3600 hyc-jpeg-full-v13=5400
# a 1,000-step learning-rate warm-up for every continued run (experiments/results/warmup_probe.csv)
LANE_WARMUP ?= 1000
lane: $(STAMP) ## Issue 22: the training lane in $(LANE_DIR), niced, resumed, checkpoints to experiments/lane
	test -d $(LANE_DIR) || git worktree add --detach $(LANE_DIR) HEAD
	test -e $(LANE_DIR)/.venv || ln -s $(CURDIR)/.venv $(LANE_DIR)/.venv
	mkdir -p $(LANE_DIR)/runs
	cd $(LANE_DIR) && nohup nice -n 19 .venv/bin/python -m experiments.train.lane --data \
	  $(abspath $(DATA))/train $(abspath $(DATA))/train-extra/bsd100 $(abspath $(DATA))/train-extra/sunhays80 \
	  --budget $(LANE_BUDGET) --warmup $(LANE_WARMUP) \
	  --save $(CURDIR)/experiments/lane --restore $(CURDIR)/experiments/lane \
	  >> runs/lane.log 2>&1 &

MODELS ?= hyc-jpeg2000-full-v1
KEEP_BUDGET ?= 3600
keep-training: $(STAMP) ## Issue 13: continue MODELS in the background (niced, CPU-second budget)
	@mkdir -p runs
	nohup $(BIN)/python -m experiments.train.keep_training $(MODELS) --data $(DATA)/train \
	  $(DATA)/train-extra/bsd100 $(DATA)/train-extra/sunhays80 --budget $(KEEP_BUDGET) \
	  --jobs 2 --nice 19 >> runs/keep.log 2>&1 &

recipe: $(STAMP) ## Issue 13: training recipe choices at equal budget -> experiments/results/recipe*
	$(BIN)/python -m experiments.train.recipe $(DATA)/train $(DATA)/train-extra/bsd100 \
	  $(DATA)/train-extra/sunhays80 --budget 600 --jobs 2

gpu-pack: $(STAMP) ## Issue 13: fill .gpu/ (wheels, waifu2x, training shard K) for a train-gpu call
	$(BIN)/python -m experiments.train.gpu_pack $(DATA)/train $(DATA)/train-extra/bsd100 \
	  $(DATA)/train-extra/sunhays80 --shard $(K)

train-gpu: ## Issue 13: ON THE LENT GPU: one slice of every model at GPU sizes, models to OUT
	python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
	  --target /tmp/hyc-site .gpu/whl/*.whl
	PYTHONPATH=/tmp/hyc-site:.gpu/w2x PYTHONUNBUFFERED=1 python3 experiments/train/train_gpu.py \
	  --slice $(GPU_SLICE) --out $${OUT:-runs/gpu-out}

clean: ## Remove build outputs (keeps .venv and runs/)
	rm -rf build .pytest_cache
