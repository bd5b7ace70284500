# The two commands a new user needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: help install assets translations migrate run test lint format bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed assets translations ## Create the virtualenv and install everything

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

static/vendor/designsystemet.css: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/@digdir/designsystemet-css/dist/src/index.css static/vendor/designsystemet.css
	cp node_modules/@digdir/designsystemet-theme/brand/digdir.css static/vendor/designsystemet-theme.css

assets: static/vendor/designsystemet.css ## Copy Designsystemet's CSS from npm into static/vendor

translations: $(VENV)/.installed ## Compile the message catalogues
	$(VENV)/bin/pybabel compile --statistics -d contracts/translations

extract: $(VENV)/.installed ## Extract messages and update the catalogues
	$(VENV)/bin/pybabel extract --ignore-dirs '.* __pycache__ node_modules' -F babel.cfg -k _l -k lazy_gettext -o contracts/translations/messages.pot .
	$(VENV)/bin/pybabel update -N --ignore-obsolete -i contracts/translations/messages.pot -d contracts/translations

migrate: install ## Upgrade the database to the newest migration
	$(FLASK) db upgrade

run: migrate ## Run the app on http://127.0.0.1:5000 and the scheduler (demo data on first start)
	$(FLASK) demo seed --if-empty
	$(FLASK) jobs run & jobs=$$!; trap 'kill $$jobs 2>/dev/null' EXIT INT TERM; $(FLASK) run --host $(HOST) --port $(PORT)

test: install ## Run the whole test suite
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed ## ruff check and format check; bandit: no medium or high findings
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/bandit --quiet --severity-level medium --recursive contracts followup jobs migrations benchmarks wsgi.py gunicorn.conf.py

format: $(VENV)/.installed ## Format the code with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install ## Benchmark the list, the import, follow-up plans, the reminder scan and OCDS
	$(PY) benchmarks/contract_list.py $(BENCH_ARGS)
	$(PY) benchmarks/import_contracts.py
	$(PY) benchmarks/followup_plans.py
	$(PY) benchmarks/reminder_scan.py
	$(PY) benchmarks/ocds_export.py
	$(PY) benchmarks/load_test.py

clean: ## Remove the virtualenv, node_modules and built assets
	rm -rf $(VENV) node_modules static/vendor
