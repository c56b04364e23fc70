# openrespond: `make demo` runs a ready server, `make test` runs the whole suite.
# The first interpreter on PATH that runs and is Python >= 3.11.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip

.PHONY: demo test install install-test lint bench conformance clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "openrespond needs Python >= 3.11 on PATH (python3)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "openrespond needs Python >= 3.11 (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(PIP) install --quiet -e '.[server]'
	@touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(PIP) install --quiet -e '.[server,test,dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# The demo lets webhooks reach receivers on this machine (unless the variable is set already).
demo: install
	OPENRESPOND_ALLOW_PRIVATE_NETWORKS="$${OPENRESPOND_ALLOW_PRIVATE_NETWORKS-127.0.0.0/8,::1}" \
		$(BIN)/openrespond serve --demo

# The suite on SQLite, then on PostgreSQL (see scripts/test.sh: skipped with the reason when
# no PostgreSQL answers and none can be started).
test: install-test
	PY=$(BIN)/python scripts/test.sh

conformance: install
	scripts/conformance.sh

# Style gates (CI runs them before the suite): lint rules, formatting, the import layers of
# pyproject.toml's [tool.importlinter], and types (strict on src/ and tests/).
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: install-test
	$(PIP) install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info
