# Huiying — the two commands (CONTRACT §1): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test test-fast lint bench clean

# Test processes (pytest-xdist): each has its own Redis databases and PostgreSQL database (tests/conftest.py).
TEST_WORKERS ?= 3
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --timeout=900

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@if [ -d app/translations ]; then $(BIN)/pybabel compile -f -d app/translations >/dev/null; fi
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(BIN)/python -m huiying.devrun

test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium missing: browser tests will skip outside CI"; }
	@test -f tests/axe/node_modules/axe-core/axe.min.js || { command -v npm >/dev/null 2>&1 && (cd tests/axe && npm ci --no-audit --no-fund --silent) || echo "npm missing: the accessibility pass will skip outside CI"; }
	$(BIN)/ruff check app cases review publishing interaction wechat reports huiying tests bench
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/vulture app cases review publishing interaction wechat reports huiying --min-confidence 80
	$(PYTEST) --durations=25

# The edit loop: everything but the browser and real-worker tests.
test-fast: $(STAMP)
	$(PYTEST) -m 'not browser and not slow'

lint: $(STAMP)
	$(BIN)/ruff check app cases review publishing interaction wechat reports huiying tests bench
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/vulture app cases review publishing interaction wechat reports huiying --min-confidence 80

bench: $(STAMP)
	$(BIN)/python -m bench.review_api
	$(BIN)/python -m bench.publish
	$(BIN)/python -m bench.commits
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.drill
	$(BIN)/python -m bench.wechat
	$(BIN)/python -m bench.cases
	$(BIN)/python -m bench.checks
	$(BIN)/python -m bench.verify
	$(BIN)/python -m bench.ledger
	$(BIN)/python -m bench.reports

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache
