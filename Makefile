# genai-cost: two commands for a newcomer (see README):
#   make demo   set up a virtualenv and run the demo on the embedded defaults
#   make test   set up everything the tests need and run lint, types and the whole test suite
PYTHON ?= python3
VENV ?= .venv
OLDEST_VENV ?= .venv-oldest
BIN := $(VENV)/bin
# The oldest SDK releases we declare support for (instrumentation/*/package.py); CI tests them too.
OLDEST_SDKS ?= openai==1.66.0 anthropic==0.40.0

.PHONY: demo test venv venv-test system-deps lint typecheck unit oldest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install -q -e '.[demo]'

venv-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

demo: venv
	$(BIN)/genai-cost demo

system-deps:
	@scripts/install-system-deps

lint: venv-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv-test
	PYTHON=$(CURDIR)/$(BIN)/python scripts/typecheck

unit: venv-test system-deps
	$(BIN)/pytest -q

oldest:
	scripts/test-oldest-sdks $(OLDEST_VENV) $(OLDEST_SDKS)

test: lint typecheck unit oldest

clean:
	rm -rf $(VENV) $(OLDEST_VENV) build dist .typecheck .pytest_cache .mypy_cache .ruff_cache
