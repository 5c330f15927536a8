# The two commands: `make run` (the whole system, embedded SQLite default) and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PIP_QUIET := 2>&1 | { grep -v '^WARNING: Location' || true; }
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-fast fault bench bench-ops bench-portal check-deploy clean

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no python3 found: install Python 3.11 first (Debian 12: sudo apt-get install python3 python3-venv)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || bash scripts/ensure-infra.sh --python-venv
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock $(PIP_QUIET)
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . $(PIP_QUIET)
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	@bash scripts/ensure-infra.sh
	@$(BIN)/python -m shared.ops.cli token --every-role
	$(BIN)/python -m shared.runtime.supervisor

test: $(STAMP)
	@bash scripts/ensure-infra.sh --postgres
	@bash scripts/ensure-infra.sh --browser
	@bash deploy/install-tools.sh >/dev/null
	$(BIN)/python -m pytest -q -m "not slow" tests
	$(BIN)/python -m pytest -q -m slow tests

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

fault: $(STAMP)
	@bash scripts/ensure-infra.sh --postgres
	YISHI_FAULT_EVENTS=$${YISHI_FAULT_EVENTS:-20000} YISHI_FAULT_OUTAGE=$${YISHI_FAULT_OUTAGE:-16} \
		YISHI_FAULT_RANDOM_KILLS=$${YISHI_FAULT_RANDOM_KILLS:-30} $(BIN)/python -m pytest -q -m slow tests

# whole pipeline (report accepted -> every queue drained), both stores; BENCH_ARGS="--duration 300" adds the
# 5-minute sustained run (bench/README.md)
bench: $(STAMP)
	@bash scripts/ensure-infra.sh --postgres
	$(BIN)/python -m bench.pipeline $(BENCH_ARGS)

bench-ops: $(STAMP)
	@bash scripts/ensure-infra.sh --postgres
	$(BIN)/python -m bench.rebuild_replay --events $${YISHI_BENCH_EVENTS:-1000000}

bench-portal: $(STAMP)
	$(BIN)/python -m bench.portal_pages $(BENCH_ARGS)

check-deploy:
	bash deploy/install-tools.sh
	bash deploy/check.sh

clean:
	rm -rf var .pytest_cache
