# Corridor: `make run` starts the service with demo data, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test setup lint bench clean

$(STAMP): pyproject.toml setup.py corridor/epcis/_hashcore.c corridor/ledger/_jcscore.c \
          corridor/store/_indexcore.c corridor/_civil_time.h corridor/epcis/c_tables.py \
          corridor/epcis/identifiers.py corridor/epcis/cbv.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/corridor serve --demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check corridor tests bench

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache corridor.egg-info
