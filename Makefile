# `make demo` and `make test` set themselves up: they create .venv when it is
# missing and install skdae with the versions pinned in constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SETUP := $(VENV)/.skdae-installed

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalled whenever the package metadata or the pins change.
$(SETUP): setup.cfg pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--constraint constraints.txt --editable ".[tests,plots]"
	touch $@

demo: $(SETUP)
	$(BIN)/skdae demo --out demo_output

test: $(SETUP)
	SCIPY_ARRAY_API=1 $(BIN)/python -m pytest

lint: $(SETUP)
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check skdae tests benchmarks

clean:
	rm -rf $(VENV) demo_output build *.egg-info .pytest_cache
