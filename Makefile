# socialdesk: `make demo` runs the desk on its embedded SQLite database; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
DEV := $(VENV)/.dev

.PHONY: demo test check lint typecheck unit bench screenshots clean

# The desk itself (what `make demo` needs).
$(RUNTIME): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[postgres]'
	touch $(RUNTIME)

# Tests, linters and the model-training tools (torch from the machine's CPU wheel).
$(DEV): $(RUNTIME)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[postgres,dev,ml]'
	touch $(DEV)

demo: $(RUNTIME)
	$(BIN)/socialdesk demo

lint: $(DEV)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(DEV)
	$(BIN)/mypy

check: lint typecheck

test: check
	$(BIN)/pytest -n 2 --dist loadgroup

unit: $(DEV)
	$(BIN)/pytest tests/unit -q

bench: $(DEV)
	$(BIN)/python bench/ingest.py

screenshots: $(DEV)
	PYTHONPATH=. $(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
