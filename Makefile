# Two entry points for a fresh Linux machine with Python >= 3.11:
#   make run    start the app (http://localhost:8501)
#   make test   run the whole test suite
# Both create (or reuse) the virtual environment .venv and install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test fuzz bench latency load results chromium clean-venv

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: requirements-test.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

run: $(VENV)/.runtime
	$(BIN)/streamlit run streamlit_app.py --server.headless true --browser.gatherUsageStats false

# The end-to-end tests need Debian's Chromium at /usr/bin/chromium. When it is missing, root installs it with apt-get;
# otherwise (or when the install fails) the end-to-end tests are skipped and say so loudly (pytest -rs).
CHROMIUM ?= /usr/bin/chromium

chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the end-to-end tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "WARNING: could not install chromium: the end-to-end browser tests will be SKIPPED"; \
	else \
		echo "WARNING: $(CHROMIUM) is missing and cannot be installed here (needs root and apt-get):"; \
		echo "WARNING: the end-to-end browser tests will be SKIPPED"; \
	fi

test: $(VENV)/.test chromium
	$(BIN)/python -m pytest -q -rs -p no:cacheprovider tests

# Rewrite every generated results table in README.md and docs/ from pretrained/manifest.json (a test fails when a
# checked-in table differs from what the manifest gives).
results: $(VENV)/.runtime
	$(BIN)/python -m backend.results --write

latency: $(VENV)/.test chromium
	$(BIN)/python scripts/measure_latency.py

# Classroom load: one server, SESSIONS concurrent Chromium sessions of INTERACTIONS widget actions each. Prints p50, p95
# and max per page, errors and cross-session leaks; fails on any. E.g. make load SESSIONS=30 LOAD_ARGS="--json load.json"
SESSIONS     ?= 8
INTERACTIONS ?= 30
LOAD_ARGS    ?=

load: $(VENV)/.test chromium
	$(BIN)/python scripts/load_test.py --sessions $(SESSIONS) --interactions $(INTERACTIONS) $(LOAD_ARGS)

# Property-based fuzzing (a few minutes): every graph reader and every CLI command on thousands of generated hostile
# inputs under time and memory limits. Prints a table of outcomes, writes failing inputs to artifacts/fuzz-failures/
# and fails on any. E.g. make fuzz FUZZ_ARGS="--seed 7 --cli-inputs 5000"
FUZZ_ARGS ?=

fuzz: $(VENV)/.test
	$(BIN)/python -m tests.fuzz $(FUZZ_ARGS)

# The full benchmark (minutes; run it on a quiet machine): JSON, then docs/performance.md and docs/performance.svg from it.
bench: $(VENV)/.runtime
	$(BIN)/python -m backend bench --json-out docs/performance.json
	$(BIN)/python -m backend.bench --render docs/performance.json --doc docs/performance.md

clean-venv:
	rm -rf $(VENV)
