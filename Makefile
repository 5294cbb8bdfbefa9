# The two commands a new user needs (README): `make run` serves the app with demo data on
# http://127.0.0.1:8000, `make test` runs the whole suite. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check --require-hashes
PYTEST_ARGS ?=
SCALE ?= 1
BENCH_ARGS ?=

.PHONY: run test worker beat lint bench check-weasyprint-libs check-browser

run: $(VENV)/.app check-weasyprint-libs
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(VENV)/.test check-weasyprint-libs check-browser
	$(BIN)/pytest -n auto --dist loadfile $(PYTEST_ARGS)

# With REDIS_URL set, tasks go to Redis: run these beside `make run`, each in its own terminal.
worker: $(VENV)/.app
	$(BIN)/celery -A cspo worker --loglevel=INFO

beat: $(VENV)/.app
	$(BIN)/celery -A cspo beat --loglevel=INFO --schedule $(VENV)/celerybeat-schedule

# The benchmark (bench/, issue 7): needs PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL;
# local defaults), recreates its own database, writes bench/RESULTS.md at SCALE=1.
bench: $(VENV)/.app check-weasyprint-libs
	$(BIN)/python -m bench --scale $(SCALE) $(BENCH_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	  || { echo "cspo needs Python 3.11 or newer as '$(PYTHON)' (found: $$($(PYTHON) --version 2>&1))."; \
	       echo "Install it, or run: make PYTHON=/path/to/python3.11 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The lock files pin every package with its hash, so every install is the same.
$(VENV)/.app: requirements/app.txt | $(BIN)/python
	$(PIP) -r requirements/app.txt
	@touch $@

$(VENV)/.test: requirements/test.txt | $(BIN)/python
	$(PIP) -r requirements/test.txt
	@touch $@ $(VENV)/.app

LDCONFIG := $(shell command -v ldconfig || echo /sbin/ldconfig)

check-weasyprint-libs:
	@missing=""; \
	for lib in libpango-1.0.so.0:libpango-1.0-0 libpangoft2-1.0.so.0:libpangoft2-1.0-0 \
	           libharfbuzz-subset.so.0:libharfbuzz-subset0; do \
	  $(LDCONFIG) -p | grep -q "$${lib%%:*}" || missing="$$missing $${lib##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Missing Debian packages for PDF certificates (weasyprint):$$missing"; \
	  echo "Install them with: sudo apt-get install -y$$missing"; exit 1; fi

check-browser:
	@[ -x /usr/bin/chromium ] || { \
	  echo "Missing Debian package for the browser tests: chromium (/usr/bin/chromium)."; \
	  echo "Install it with: sudo apt-get install -y chromium"; exit 1; }
