# Everything a fresh machine needs: Debian packages for headless EGL, a venv, the package.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
OUT ?= out/demo

.PHONY: demo test system bench clean

system:
	@scripts/install-system.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

demo: system $(STAMP)
	$(VENV)/bin/cinestage demo --out $(OUT)

test: system $(STAMP)
	$(PY) -m pytest -q -n 2

bench: system $(STAMP)
	$(PY) benchmarks/render_throughput.py

clean:
	rm -rf $(VENV) out
