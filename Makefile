# One entry point for people and CI. Every target creates the virtualenv first if it is missing or stale.
#   make plan STACK=staging   offline plan of a stack (mocked providers; not a cloud preview)
#   make test                 the test suite
#   make lint                 ruff and pyright
#   make workflows            validate the GitHub Actions workflows
#   make urns                 accept an intended removal or rename: refresh the URN snapshots
#   make docs                 regenerate docs/overview.md and docs/estate.{dot,svg} (STACK=staging: build/)
#   make bench                benchmark against the SDK import floor; writes docs/performance.md
#   make verify STACK=staging check a deployed stack from outside (OUTPUTS=file without the Pulumi CLI)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= staging
ARGS ?=

.PHONY: setup plan test lint workflows urns docs bench format clean

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

urns: setup
	$(PY) -m offline.urns --write

# The SVG needs Graphviz's `dot` (Debian: apt-get install graphviz); the Markdown and DOT source do not.
docs: setup
	@if [ "$(STACK)" = "prod" ] || [ "$(origin STACK)" = "file" ]; then \
		$(PY) -m offline.docs --stack prod; \
	else \
		$(PY) -m offline.docs --stack $(STACK) --out build/docs-$(STACK); \
	fi

bench: setup
	$(PY) -m bench.run $(ARGS)

# Needs the network: DNS, HTTPS, origins and mail of the deployed stack, against what the program declares.
.PHONY: verify
OUTPUTS ?=
verify: setup
	$(PY) -m verify --stack $(STACK) $(if $(OUTPUTS),--outputs $(OUTPUTS)) $(ARGS)

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
