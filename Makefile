# Two commands matter: `make demo` and `make test` (see README.md); docs/TESTING.md has the rest.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Where the pack's own Python lives outside StackStorm: the pack lib, the simulator, the runner.
export PYTHONPATH := $(CURDIR)/lib:$(CURDIR)/simulator:$(CURDIR)/runner
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv system-deps system-deps-demo test check test-st2 lint demo bench clean

# StackStorm v3.9.0's own code for `make test-st2` (see docs/TESTING.md): a tree built by
# ../shared/st2-reference/build.sh, with st2's Python and packages in its venv/.
ST2_REF ?= $(HOME)/st2-reference
ST2_PY := $(ST2_REF)/venv/bin/python
# The fast tier for the edit loop (no sshd, no salt, no sensor processes): under a minute.
CHECK_PATHS := tests/lib tests/simulator tests/test_metadata.py tests/test_st2_standins.py

$(VENV)/.installed: requirements.txt requirements-tests.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-tests.txt -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# sshd, keytool, openssl, python3-venv: installed with apt-get when missing and run as root.
system-deps:
	tools/install-system-deps

# The demo needs no SSH server: keytool, openssl and python3-venv only.
system-deps-demo:
	tools/install-system-deps demo

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: system-deps venv lint
	$(PY) -m pytest $(PYTEST_ARGS)

check: venv
	$(PY) -m ruff check .
	$(PY) -m pytest -q -m "not ssh and not salt" $(CHECK_PATHS) $(PYTEST_ARGS)

# The pack through st2's own code (alias matching, alias-execution API, Inquiries, parameters,
# config loader, the workflow engine): tests/st2_real with st2's Python. Not part of `make test`.
test-st2: system-deps
	@if [ ! -x "$(ST2_PY)" ] || [ ! -d "$(ST2_REF)/src/st2common" ]; then \
	  echo "make test-st2: no StackStorm v3.9.0 tree at ST2_REF=$(ST2_REF) (needs venv/bin/python and src/)." >&2; \
	  echo "  Build one with ../shared/st2-reference/build.sh, or set ST2_REF=<its DEST>." >&2; \
	  exit 2; fi
	ST2_REF=$(ST2_REF) $(ST2_PY) -m pytest -p no:cacheprovider tests/st2_real $(PYTEST_ARGS)

# Two scenes: the client-log path, then the agentless path (the server sensor on the utility node).
demo: system-deps-demo venv
	$(PY) -m st2_local.demo $(DEMO_ARGS)
	$(PY) -m st2_local.demo_agentless $(DEMO_ARGS)

bench: system-deps venv
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache bench/results.json
