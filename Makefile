# One entry point for people and CI. Every target creates the virtualenv first if it is missing or stale.
#   make plan STACK=staging   offline plan of a stack (mocked providers; not a cloud preview); ARGS=... passes
#                             options (README: "The offline plan"); a failure names the plan's own exit code
#   make test                 the test suite
#   make lint                 ruff and pyright
#   make workflows            validate the GitHub Actions workflows
#   make urns                 accept an intended removal or rename: refresh the URN snapshots
#   make docs                 regenerate docs/overview.md and docs/estate.{dot,svg} (STACK=staging: build/)
#   make bench                benchmark against the SDK import floor; writes docs/performance.md
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= staging
ARGS ?=
PLAN ?= $(PY) -m offline.plan

.PHONY: setup plan test lint workflows urns docs bench format clean

# Progress goes to stderr, so `make plan > plan.txt` keeps only the plan.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "psf-infra needs Python 3.11 or later; set PYTHON=python3.11")'
	@test -x $(PY) || { echo "setup: creating the virtualenv $(VENV) with $(PYTHON)" >&2; $(PYTHON) -m venv $(VENV); }
	@echo "setup: installing requirements-dev.txt into $(VENV) (a few minutes the first time; again only when a requirements file changes)" >&2
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@
	@echo "setup: $(VENV) is ready" >&2

setup: $(VENV)/.installed

# GNU make itself exits 2 whenever a recipe fails, whatever the recipe's status. So the recipe ends with the
# plan's own status (make then reports "Error 3") and first names it on its last line of stderr; scripts that
# branch on 2 and 3 run $(PLAN) themselves (README: "Exit codes").
plan: setup
	@$(PLAN) --stack $(STACK) $(ARGS); status=$$?; \
	case $$status in \
	  0) ;; \
	  1) echo "make plan: the offline plan exited 1: the program failed (not a configuration error)" >&2 ;; \
	  2) echo "make plan: the offline plan exited 2: bad configuration or arguments" >&2 ;; \
	  3) echo "make plan: the offline plan exited 3: a mandatory policy violation" >&2 ;; \
	  *) echo "make plan: the offline plan exited $$status" >&2 ;; \
	esac; \
	exit $$status

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

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
