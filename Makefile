# backproof: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The browser tests drive Debian's Chromium: Playwright must never fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: install bytecode demo test lint typecheck unit system-deps services clean bench

# The C extension (src/backproof/_native) is compiled by this install, again when its sources change.
$(STAMP): pyproject.toml $(wildcard src/backproof/_native/*.c src/backproof/_native/*.h)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# backproof's own byte-code, written even where PYTHONDONTWRITEBYTECODE is set (as in CI and the
# developers' shells): every `backproof` process the tests start reads it instead of compiling
# src/ again (about 0.2 s of CPU a process). An edited module is newer than its .pyc, so Python
# compiles it afresh (never runs the stale one) and this target writes it again next time.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q src

install: $(STAMP) bytecode

demo: install
	$(BIN)/backproof demo --dir demo --force
	cd demo && ../$(BIN)/backproof run

system-deps:
	scripts/install-system-deps.sh

# Benchmarks against the raw tools, in the same run (docs/performance.md). On a shared or small
# machine keep SIZE_MB at 100-300; ENGINE=postgresql|mariadb|both.
SIZE_MB ?= 100
ENGINE ?= postgresql
REPEAT ?= 3
bench: install services
	$(BIN)/python benchmarks/generate_crm.py --engine $(subst both,postgresql,$(ENGINE)) --size-mb $(SIZE_MB) --database bench_crm
	$(if $(filter both,$(ENGINE)),$(BIN)/python benchmarks/generate_crm.py --engine mariadb --size-mb $(SIZE_MB) --database bench_crm)
	$(BIN)/python benchmarks/bench_dump.py --engine $(ENGINE) --database bench_crm --repeat $(REPEAT)
	$(foreach engine,$(subst both,postgresql mariadb,$(ENGINE)),$(BIN)/python benchmarks/bench_cores.py --engine $(engine) --database bench_crm --rounds $(REPEAT) &&) true
	-$(BIN)/python benchmarks/bench_scrape.py --rows 10000 1000000 --targets 4
	-$(BIN)/python benchmarks/bench_startup.py

services:
	scripts/ensure-services.sh

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

# The suite runs on TEST_WORKERS processes (pytest-xdist): most of its time is spent waiting on
# servers and the CLI processes it starts. Each test file runs whole on one worker, so a module's
# fixtures (the browser tests' history, service and Chromium; the built wheel) are made once.
TEST_WORKERS ?= 3
# system-deps first: on a fresh machine it brings the C compiler the install builds with.
test: system-deps install services lint typecheck
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache .hypothesis
