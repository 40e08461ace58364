# kcap: the two quick-start commands (README) and a few helpers.
# Each target creates .venv with the CPU build of torch if it is missing, then installs kcap into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= demo_out

.PHONY: demo test install clean-venv

$(VENV)/.kcap-installed: settings.ini setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.kcap-installed

## Quick start 1: kcap's main job end to end on synthetic data -> $(OUT)/
demo: install
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(VENV)/bin/kcap demo --out $(OUT)

## Quick start 2: the whole test suite (what CI runs)
test: install
	PATH="$(abspath $(VENV))/bin:$$PATH" bash tools/test.sh

clean-venv:
	rm -rf $(VENV)
