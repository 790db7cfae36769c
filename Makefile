# `make demo`, `make test` and `make docs` set themselves up: they create .venv
# when it is missing and install skdae with the versions pinned in constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SETUP := $(VENV)/.skdae-installed
DOCS_SETUP := $(VENV)/.skdae-docs-installed

.PHONY: demo test docs lint bench clean

$(BIN)/python:
	@echo "skdae: creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)

# Reinstalled whenever the package metadata or the pins change.
$(SETUP): setup.cfg pyproject.toml constraints.txt | $(BIN)/python
	@echo "skdae: installing skdae and its pinned dependencies (torch, scikit-learn, ...) into $(VENV);"
	@echo "skdae: the first time this downloads a few hundred MB and takes a few minutes."
	$(BIN)/python -m pip install --progress-bar on --disable-pip-version-check \
		--constraint constraints.txt --editable ".[tests,plots]"
	touch $@

# The docs extra on top: Sphinx and its extensions, at the pinned versions.
$(DOCS_SETUP): $(SETUP)
	@echo "skdae: installing the documentation tools (Sphinx and its extensions) into $(VENV)"
	$(BIN)/python -m pip install --progress-bar on --disable-pip-version-check \
		--constraint constraints.txt --editable ".[tests,plots,docs]"
	touch $@

demo: $(SETUP)
	$(BIN)/skdae demo --out demo_output

test: $(SETUP)
	SCIPY_ARRAY_API=1 $(BIN)/python -m pytest

# The site, into docs/_build/html; any warning (a broken reference, a docstring
# numpydoc refuses, a gallery example that fails) fails the build. The gallery's
# MNIST example reads SKDAE_DATA (see .ci/run), else downloads MNIST.
docs: $(DOCS_SETUP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

lint: $(SETUP)
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check skdae tests benchmarks

clean:
	rm -rf $(VENV) demo_output build *.egg-info .pytest_cache \
		docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst
