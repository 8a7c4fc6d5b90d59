# ticketgate — `make run` starts the gateway, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint test-sqlite test-postgres bench clean

setup: $(STAMP)

# Idempotent: the stamp is rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: setup
	$(BIN)/ticketgate init
	$(BIN)/ticketgate serve

lint: setup
	$(BIN)/ruff check .

# The whole suite on SQLite, then again on PostgreSQL when TICKETGATE_TEST_POSTGRES_URL is set
# (CI sets it; tests/conftest.py makes each run create and drop its own database).
test: setup lint
	$(BIN)/python -m pytest -q
	@if [ -n "$$TICKETGATE_TEST_POSTGRES_URL" ]; then \
		echo "== again on PostgreSQL"; \
		TICKETGATE_TEST_BACKEND=postgresql $(BIN)/python -m pytest -q; \
	fi

bench: setup
	$(BIN)/python bench/process.py
	$(BIN)/python bench/intake.py
	@if [ -n "$$TICKETGATE_TEST_POSTGRES_URL" ] && [ -n "$$TICKETGATE_TEST_REDIS_URL" ]; then \
		$(BIN)/python bench/scaleout.py; \
	else echo "bench/scaleout.py skipped: set TICKETGATE_TEST_POSTGRES_URL and TICKETGATE_TEST_REDIS_URL"; fi

clean:
	rm -rf $(VENV) var .pytest_cache
