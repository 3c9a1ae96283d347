# elearn: every set-up step a person or CI needs. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# One worker process with threads: in the embedded tier sign-in limits live in that process's
# memory, so several workers would each count separately (set ELEARN_REDIS_URL to share them).
WORKERS ?= 1
export ELEARN_INSTANCE_DIR ?= $(CURDIR)/instance
# Links in mails (password resets) must point at the port actually served.
export ELEARN_BASE_URL ?= http://127.0.0.1:$(PORT)

.DEFAULT_GOAL := help
.PHONY: help install install-dev translations messages migrate demo run dev test test-sqlite test-postgres \
        prod-check lint fmt check clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	@bash .ci/system-packages.sh run
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run ## Create .venv and install the pinned packages

install-dev: $(VENV)/.installed-dev ## Also install the test and lint tools

translations: install ## Compile the translation catalogs (.po -> .mo)
	@$(BIN)/pybabel compile -d elearn/translations > /dev/null

migrate: translations ## Bring the database up to the newest migration
	$(BIN)/flask --app wsgi db upgrade

demo: migrate ## Load the demo org tree and accounts, and the starter courses (idempotent)
	ELEARN_DEMO=1 $(BIN)/flask --app wsgi accounts load-demo
	$(BIN)/flask --app wsgi media demo-lecture content/
	ELEARN_DEMO=1 $(BIN)/flask --app wsgi content load content/ --new-only --staff giangvien
	ELEARN_DEMO=1 $(BIN)/flask --app wsgi progress load-demo
	ELEARN_DEMO=1 $(BIN)/flask --app wsgi reports load-demo

run: demo ## Install, migrate, load demo data and serve on http://127.0.0.1:$(PORT) (web + job worker)
	@echo "elearn is starting on http://127.0.0.1:$(PORT) with a job worker (Ctrl-C stops both)"
	@ELEARN_DEMO=1 $(BIN)/flask --app wsgi worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  ELEARN_DEMO=1 $(BIN)/gunicorn --workers $(WORKERS) --threads 8 --bind 127.0.0.1:$(PORT) \
	    --graceful-timeout 5 --access-logfile - --forwarded-allow-ips 127.0.0.1 wsgi:app

dev: demo ## Like run, but Flask's debug server with reloading
	@ELEARN_DEMO=1 $(BIN)/flask --app wsgi worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  ELEARN_DEMO=1 $(BIN)/flask --app wsgi run --debug --port $(PORT)

test: install-dev translations ## Run every test: SQLite, and PostgreSQL beside it if ELEARN_TEST_DATABASE_URL is set
	@bash .ci/system-packages.sh test
	@bash .ci/test-passes.sh

test-sqlite: ## Run the whole suite on SQLite, browser tests included
	env -u ELEARN_TEST_DATABASE_URL $(BIN)/python -m pytest

test-postgres: ## Run the suite (without the browser) on ELEARN_TEST_DATABASE_URL
	$(BIN)/python -m pytest -p no:cacheprovider -m "not browser"

prod-check: install-dev translations ## The production stack (gunicorn, PostgreSQL, Redis, nginx) on 127.0.0.1: smoke test, faults, backup/restore
	@bash .ci/prod-check.sh

lint: install-dev ## Check style with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install-dev ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: lint test ## What CI runs

clean: ## Remove the venv, caches and the local database
	rm -rf $(VENV) .pytest_cache .ruff_cache instance test-artifacts

messages: install ## Extract UI strings and merge them into the Vietnamese catalog
	$(BIN)/pybabel extract -F elearn/translations/babel.cfg -k _l -k lazy_gettext --no-location \
	  --sort-output --project elearn -o elearn/translations/messages.pot .
	$(BIN)/pybabel update -i elearn/translations/messages.pot -d elearn/translations \
	  --no-fuzzy-matching --width 100
