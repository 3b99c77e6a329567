# Corridor: `make run` starts the service with demo data, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# npm packages of the independent credential verifier (tests/js), where npm is installed;
# without npm those tests are skipped with the reason shown.
JS_STAMP := tests/js/node_modules/.installed-stamp
JS_DEPS  := $(if $(shell command -v npm 2>/dev/null),$(JS_STAMP))
# The map's basemap: Natural Earth country shapes (public domain) from the world-atlas npm
# package, simplified by geo/build_basemap.py, where npm is installed; without it the map
# draws nodes and legs on plain water and says "basemap not built".
GEO_MAP  := corridor/web/static/geo/basemap.json
GEO_DEPS := $(if $(shell command -v npm 2>/dev/null),$(GEO_MAP))

.PHONY: run test setup lint bench clean

$(STAMP): pyproject.toml setup.py corridor/epcis/_hashcore.c corridor/ledger/_jcscore.c \
          corridor/store/_indexcore.c corridor/_civil_time.h corridor/epcis/c_tables.py \
          corridor/epcis/identifiers.py corridor/epcis/cbv.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	@echo "npm ci in tests/js (packages of the independent credential verifier)"
	@cd tests/js && npm ci --no-audit --no-fund --loglevel=error \
	  && touch node_modules/.installed-stamp \
	  || echo "npm ci failed in tests/js: the Node.js credential tests will be skipped"

$(GEO_MAP): geo/package.json geo/package-lock.json geo/build_basemap.py
	@echo "npm ci in geo/ and the map's basemap (Natural Earth via world-atlas)"
	@(cd geo && npm ci --no-audit --no-fund --loglevel=error) \
	  && $(PYTHON) geo/build_basemap.py \
	  || echo "basemap not built: the map is drawn without land and says so"

setup: $(STAMP) $(JS_DEPS) $(GEO_DEPS)

run: $(STAMP) $(GEO_DEPS)
	$(BIN)/corridor serve --demo

test: $(STAMP) $(JS_DEPS) $(GEO_DEPS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check corridor tests bench

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache corridor.egg-info tests/js/node_modules geo/node_modules \
	  corridor/web/static/geo
