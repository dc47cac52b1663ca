# Two commands matter: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Where the pack's own Python lives outside StackStorm: the pack lib, the simulator, the runner.
export PYTHONPATH := $(CURDIR)/lib:$(CURDIR)/simulator:$(CURDIR)/runner
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv system-deps test lint demo bench clean

$(VENV)/.installed: requirements.txt requirements-tests.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-tests.txt -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# sshd, keytool, openssl, python3-venv: installed with apt-get when missing and run as root.
system-deps:
	tools/install-system-deps

lint: venv
	$(PY) -m ruff check .

test: system-deps venv lint
	$(PY) -m pytest $(PYTEST_ARGS)

demo: system-deps venv
	$(PY) -m st2_local.demo $(DEMO_ARGS)

bench: system-deps venv
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache bench/results.json
