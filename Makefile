# Two commands: `make run` (install, then serve the demo on port 5000 of every network
# of this machine, so phones at the venue reach it) and `make test` (install, then run
# the whole suite). `ROADMAP_HOST=127.0.0.1 make run` keeps it to this computer.
PYTHON ?= python3
ROADMAP_HOST ?= 0.0.0.0
# Three workers on two cores: the browser and live-server tests mostly wait (on typing
# at a person's pace, on other processes), so a third keeps both cores busy.
PYTEST_ARGS ?= -n 3 --dist worksteal
VENV := .venv
PY := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
CATALOGS := $(wildcard roadmap/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: run test lint install install-test browser pdf-libs translations messages upgrade clean

run: install
	ROADMAP_HOST=$(ROADMAP_HOST) $(PY) -m roadmap.server --demo

test: install-test lint
	node --test tests/js/*.test.mjs
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (pyproject.toml) and ESLint (eslint.config.mjs); make test fails on any finding.
lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	npx --no-install eslint .

install: pdf-libs $(PIP_STAMP) $(NPM_STAMP) translations

install-test: install browser

# Exact versions from requirements.lock (pip-compile's output for pyproject.toml with its test extra).
$(PIP_STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Refresh requirements.lock to the newest versions pyproject.toml allows; then run make test.
upgrade: $(PIP_STAMP)
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --upgrade --extra test --strip-extras --output-file requirements.lock pyproject.toml

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

translations: $(COMPILED)

roadmap/translations/%/LC_MESSAGES/messages.mo: roadmap/translations/%/LC_MESSAGES/messages.po $(PIP_STAMP)
	$(VENV)/bin/pybabel compile --use-fuzzy -i $< -o $@

# Browser tests drive the system Chromium; CI starts on a fresh machine as root.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; \
	  else echo "Chromium is missing: run 'sudo apt-get install -y chromium' (browser tests will be skipped)"; fi; \
	fi

# PDF export (WeasyPrint) lays text out with Pango and needs a font with Cyrillic.
pdf-libs:
	@if ! ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; \
	  else echo "Pango is missing: run 'sudo apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core' (PDF export needs it)"; fi; \
	fi

# Refresh the catalogs after changing interface strings.
messages: $(PIP_STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k N_ -o roadmap/translations/messages.pot .
	$(VENV)/bin/pybabel update -i roadmap/translations/messages.pot -d roadmap/translations

clean:
	rm -rf $(VENV) node_modules test-artifacts
