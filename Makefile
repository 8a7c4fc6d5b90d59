# ticketgate — `make run` starts the gateway, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint typecheck test-sqlite test-postgres bench clean constraints test-py313

setup: $(STAMP)

# Idempotent: the stamp is rebuilt only when pyproject.toml changes.
# Installs from constraints.txt, so every machine and CI get the same versions.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

# After a dependency change in pyproject.toml: pin what a fresh install resolves today.
constraints:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -e '.[test]'
	{ echo "# Exact versions \`make setup\` and CI install (pip install -c constraints.txt -e '.[test]')."; \
	  echo "# Regenerate after changing dependencies: make constraints"; \
	  .venv-lock/bin/pip freeze --exclude-editable | grep -v '^ticketgate'; } > constraints.txt
	rm -rf .venv-lock

run: setup
	$(BIN)/ticketgate init
	$(BIN)/ticketgate serve

lint: setup
	$(BIN)/ruff check .

# parsing/, workflows/ and gateway/ ([tool.mypy] in pyproject.toml; not tests/ nor bench/).
typecheck: setup
	$(BIN)/mypy

# The whole suite on SQLite, then again on PostgreSQL when TICKETGATE_TEST_POSTGRES_URL is set
# (CI sets it; tests/conftest.py makes each run create and drop its own database).
test: setup lint typecheck
	$(BIN)/python -m pytest -q
	@if [ -n "$$TICKETGATE_TEST_POSTGRES_URL" ]; then \
		echo "== again on PostgreSQL"; \
		TICKETGATE_TEST_BACKEND=postgresql $(BIN)/python -m pytest -q; \
	fi

# The suite on another Python (issue 16: 3.11 and 3.13), in its own venv; PY313 is pyenv's.
PY313 ?= $(shell ls -d $$HOME/.pyenv/versions/3.13*/bin/python 2>/dev/null | tail -1 || command -v python3.13)
test-py313:
	test -n "$(PY313)" || { echo "no Python 3.13 found (set PY313=...)"; exit 2; }
	test -x .venv313/bin/python || $(PY313) -m venv .venv313
	.venv313/bin/pip install --quiet --upgrade pip
	.venv313/bin/pip install --quiet -c constraints.txt -e '.[test]'
	.venv313/bin/python -m pytest -q -m "not acceptance" $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/process.py
	$(BIN)/python bench/intake.py
	@if command -v valgrind >/dev/null; then $(BIN)/python bench/instructions.py; \
	else echo "bench/instructions.py skipped: install valgrind"; fi
	@if [ -n "$$TICKETGATE_TEST_POSTGRES_URL" ] && [ -n "$$TICKETGATE_TEST_REDIS_URL" ]; then \
		$(BIN)/python bench/scaleout.py; \
	else echo "bench/scaleout.py skipped: set TICKETGATE_TEST_POSTGRES_URL and TICKETGATE_TEST_REDIS_URL"; fi

clean:
	rm -rf $(VENV) var .pytest_cache
