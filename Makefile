# vendorkit: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: install demo test lab bench bench-quick lint lock clean

$(STAMP): pyproject.toml requirements/dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements/dev.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## demo: sync the sandbox, execute the notebooks, write the HTML report
demo: $(STAMP)
	$(VENV)/bin/vendorkit demo

## test: the whole test suite (unit, integration over localhost, notebooks under nbval)
test: $(STAMP)
	$(PY) -m pytest tests notebooks --nbval --nbval-sanitize-with notebooks/sanitize.cfg

## lab: open JupyterLab on notebooks/
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

## bench: the benchmark suite, sized for < 15 min on a shared 2-core machine -> BENCHMARKS.md (installs the bench extras)
bench: $(BENCH_STAMP)
	$(PY) -m benchmarks

## bench-quick: the same at reduced sizes (~3-6 min) -> benchmarks/results/BENCHMARKS-quick.md
bench-quick: $(BENCH_STAMP)
	$(PY) -m benchmarks --quick

$(BENCH_STAMP): $(STAMP) requirements/bench.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements/bench.lock
	touch $(BENCH_STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check vendorkit tests benchmarks
	$(VENV)/bin/ruff format --check vendorkit tests benchmarks
	$(VENV)/bin/mypy

lock:
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements/dev.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 -o requirements/bench.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
