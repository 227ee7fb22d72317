# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Tests run against the PostgreSQL and Redis on 127.0.0.1 unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# pytest-xdist workers: each has its own test database (test_<name>_gwN) and Redis database (the one above, minus N;
# bartsvoice/settings_test.py). `make test TEST_WORKERS=0` runs the suite in one process.
TEST_WORKERS ?= 2

.PHONY: run test install lint lint-format migrate seed web worker beat clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0

seed: migrate
	$(PY) manage.py seed_demo

# DEBUG on for the local demo (listening on 127.0.0.1 only); `DEBUG=false make run` turns it off.
run: seed
	DEBUG=$${DEBUG:-true} $(PY) -m bartsvoice.devserver

# `ruff check` and `ruff format --check` on everything; mypy on the apps
# (strict for the modules pyproject lists, lenient elsewhere). .pre-commit-config.yaml and CI run this same target.
lint: install lint-format
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy bartsvoice crm scheduling calls privacy

lint-format: install
	$(VENV)/bin/ruff format --check .

test: install lint
	mkdir -p var && $(PY) manage.py collectstatic --noinput --verbosity 0
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) DB_CONN_MAX_AGE=0 $(VENV)/bin/pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf var
