# One entry point for people and CI. Every target creates the virtualenv first if it is missing or stale.
#   make plan STACK=staging   offline plan of a stack (mocked providers; not a cloud preview)
#   make test                 the test suite
#   make lint                 ruff and pyright
#   make workflows            validate the GitHub Actions workflows
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= staging
ARGS ?=

.PHONY: setup plan test lint workflows format clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "psf-infra needs Python 3.11 or later; set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.installed

plan: setup
	@$(PY) -m offline.plan --stack $(STACK) $(ARGS)

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pyright

# GitHub workflows: valid YAML and valid against GitHub's schema (vendored in check-jsonschema; offline).
workflows: setup
	$(PY) -c 'import sys, yaml; [yaml.safe_load(open(f)) for f in sys.argv[1:]]' .github/workflows/*.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
