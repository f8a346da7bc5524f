# Two entry points for a fresh Linux machine with Python >= 3.11:
#   make run    start the app (http://localhost:8501)
#   make test   run the whole test suite
# Both create (or reuse) the virtual environment .venv and install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test bench clean-venv

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

test: $(VENV)/.test
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

bench: $(VENV)/.runtime
	$(BIN)/python -m backend bench

clean-venv:
	rm -rf $(VENV)
