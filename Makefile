# Two commands for a newcomer: `make run` (whole system, embedded defaults) and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint clean

$(VENV)/.installed: requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

run: $(VENV)/.installed  ## web + worker + beat on SQLite and an embedded broker; DEMO=1 adds fake providers
	$(PY) -m moments_admin.launcher $(if $(DEMO),--demo)

test: $(VENV)/.installed  ## the whole suite; PostgreSQL/Redis when DATABASE_URL/CELERY_BROKER_URL/CACHE_URL are set
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var
