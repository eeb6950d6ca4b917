# Heard — the two commands a newcomer needs are `make demo` and `make test`.
# Everything else here is for day-to-day development and CI.

VENV        ?= .venv
PY          := $(VENV)/bin/python
PIP         := $(PY) -m pip
MANAGE      := $(PY) manage.py
PYTEST_ARGS ?=
PG_URL      ?= postgres://postgres@127.0.0.1:5432
PG_TEST_DB  ?= heard_test
REDIS_URL   ?= redis://127.0.0.1:6379/1
# Not scanned for strings to translate: tools, tests and other people's code.
MESSAGES_IGNORE := $(foreach d,node_modules bench tests staticfiles var test-artifacts scripts,--ignore=$(d))

.DEFAULT_GOAL := help
.PHONY: help demo serve migrate seed test test-postgres lint format messages pytest worker requeue-stale check-sla clean \
        node bench bench-seed explain profile lighthouse screenshots cluster cluster-stop cluster-status test-cluster

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# --- environment -------------------------------------------------------------------------
$(VENV)/.created:
	@python_bin=$$(scripts/find-python) || exit 1; \
	  echo "Creating $(VENV) with $$python_bin"; \
	  rm -rf $(VENV) && "$$python_bin" -m venv $(VENV) && $(PIP) install -q --upgrade pip
	@touch $@

$(VENV)/.runtime: $(VENV)/.created requirements.txt
	$(PIP) install -q -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -q -r requirements-dev.txt
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

node: node_modules/.package-lock.json

# --- the demo ----------------------------------------------------------------------------
demo: $(VENV)/.runtime ## Install, migrate SQLite, load demo data, print logins, serve on :8000
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	@echo "Serving Heard at http://127.0.0.1:8000/  (Ctrl-C to stop)"
	$(MANAGE) runserver 127.0.0.1:8000

serve: $(VENV)/.runtime ## Serve without reseeding
	$(MANAGE) runserver 127.0.0.1:8000

migrate: $(VENV)/.runtime ## Apply migrations
	$(MANAGE) migrate --noinput

seed: $(VENV)/.runtime ## Load demo data (idempotent)
	$(MANAGE) seed_demo

worker: $(VENV)/.runtime ## Run the task worker (TASKS_BACKEND=database); run requeue-stale every minute too
	TASKS_BACKEND=database $(MANAGE) db_worker

requeue-stale: $(VENV)/.runtime ## Put tasks of killed workers back on the queue (run every minute)
	$(MANAGE) tasks_requeue_stale

check-sla: $(VENV)/.runtime ## Record missed complaint deadlines, send reminders (run every minute)
	$(MANAGE) check_sla

# --- quality -----------------------------------------------------------------------------
lint: $(VENV)/.dev ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev ## Format and fix what ruff can
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: $(VENV)/.runtime ## Update the source catalogue locale/en_GB (needs GNU gettext)
	@command -v xgettext >/dev/null || { echo "GNU gettext is missing: apt-get install -y gettext"; exit 1; }
	$(MANAGE) makemessages -l en_GB --no-obsolete $(MESSAGES_IGNORE)

pytest: $(VENV)/.dev node
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: $(VENV)/.dev node lint ## Lint and run the whole suite on SQLite
	$(VENV)/bin/pytest $(PYTEST_ARGS)

screenshots: $(VENV)/.dev ## Retake the README's pictures of the main pages (docs/screenshots/)
	SCREENSHOTS_DIR=docs/screenshots $(VENV)/bin/pytest tests/e2e/test_screenshots.py -q -p no:cacheprovider

test-postgres: $(VENV)/.dev node ## Run the whole suite on local PostgreSQL and Redis
	@psql "$(PG_URL)/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$(PG_TEST_DB)'" | grep -q 1 \
	  || psql "$(PG_URL)/postgres" -qc 'CREATE DATABASE "$(PG_TEST_DB)"'
	DATABASE_URL="$(PG_URL)/$(PG_TEST_DB)" CACHE_URL="$(REDIS_URL)" CACHE_KEY_PREFIX="heard-test-$$$$" \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)

# --- performance ---------------------------------------------------------------------------
BENCH_DB    ?= heard_bench

bench: $(VENV)/.runtime ## Load-test 100k providers / 1M reviews on PostgreSQL, print the targets met or not
	@command -v wrk >/dev/null || apt-get install -y wrk
	BENCH_DB_URL="$(PG_URL)/$(BENCH_DB)" $(PY) bench/run.py

bench-seed: $(VENV)/.runtime ## Recreate the benchmark database and time the seeding
	psql "$(PG_URL)/postgres" -qc 'DROP DATABASE IF EXISTS "$(BENCH_DB)"' -c 'CREATE DATABASE "$(BENCH_DB)"'
	DATABASE_URL="$(PG_URL)/$(BENCH_DB)" $(MANAGE) migrate --noinput -v0
	DATABASE_URL="$(PG_URL)/$(BENCH_DB)" /usr/bin/time -v $(MANAGE) seed_demo \
	  --providers 100000 --reviews 1000000 --quiet-logins

profile: $(VENV)/.dev ## Profile one page in process with pyinstrument (PROFILE_PATH=/providers/<slug>/)
	DATABASE_URL="$(PG_URL)/$(BENCH_DB)" DEBUG=False SECRET_KEY=profile-$$$$-not-secret-xxxxxxxxxxxxxxxxxxxxxxxxxxxx \
	  ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=False CACHE_URL=$${CACHE_URL:-redis://127.0.0.1:6379/9} \
	  LOG_LEVEL=WARNING $(PY) bench/profile.py

lighthouse: $(VENV)/.runtime node ## Lighthouse (mobile, desktop) on four pages served as in production → docs/quality.md
	$(PY) bench/lighthouse.py

explain: $(VENV)/.runtime ## EXPLAIN ANALYZE every list's queries on the benchmark data (docs/query-plans.md)
	BENCH_DB_URL="$(PG_URL)/$(BENCH_DB)" $(PY) bench/explain.py

# --- deployment ----------------------------------------------------------------------------
cluster: $(VENV)/.runtime ## nginx on :8300 over two gunicorn instances, a worker, fresh DB heard_cluster (docs/deploy.md)
	bash deploy/cluster.sh start

cluster-stop: ## Stop exactly the processes make cluster started (pid files in var/cluster/)
	bash deploy/cluster.sh stop

cluster-status: ## What make cluster started and still runs
	bash deploy/cluster.sh status

test-cluster: $(VENV)/.dev ## make cluster, the cluster tests (tests/cluster, about 4 min), make cluster-stop
	@command -v wrk >/dev/null || apt-get install -y wrk
	bash deploy/cluster.sh start
	$(VENV)/bin/pytest -m cluster tests/cluster -p no:cacheprovider $(PYTEST_ARGS); \
	  status=$$?; bash deploy/cluster.sh stop || status=1; exit $$status

clean: ## Remove the virtual environment, node modules and local database
	rm -rf $(VENV) node_modules db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .ruff_cache
