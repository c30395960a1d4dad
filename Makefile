# Machi: the two commands of the README, and a few helpers.
#   make demo   install into .venv and run dags/sample.yaml on the bundled sample district, then
#               dags/sample_trees.yaml (60 street trees) on it as the baseline (docs/measures.md)
#   make test   install the test dependencies and run the whole test suite (ruff's lint and
#               format check, the viewer's Node unit tests, then pytest)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install install-test sample bench clean readme-keys

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
	touch $@

viewer/node_modules/.installed: viewer/package.json viewer/package-lock.json
	npm ci --prefix viewer --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed viewer/node_modules/.installed
install-test: $(VENV)/.installed-test tests/js/node_modules/.installed viewer/node_modules/.installed

demo: install
	$(BIN)/machi run dags/sample.yaml
	$(BIN)/machi run dags/sample_trees.yaml

test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	node --test viewer/test/*.test.mjs
	$(BIN)/pytest

sample: install
	$(BIN)/python sample_data/make_sample.py

bench: install-test
	$(BIN)/python benchmarks/citygml_read.py
	$(BIN)/python benchmarks/shadow.py
	$(BIN)/python benchmarks/tiles.py
	$(BIN)/python benchmarks/lidar.py
	$(BIN)/python benchmarks/walkability.py
	$(BIN)/python benchmarks/manifest.py

# paste the run-definition key table (from the settings models) into docs/run-definition.md
readme-keys: install
	$(BIN)/python -c "import pathlib, subprocess; r = pathlib.Path('docs/run-definition.md'); t = r.read_text(); \
	a = t.index('<!-- keys:start -->') + 19; b = t.index('<!-- keys:end -->'); \
	k = subprocess.run(['$(BIN)/machi', 'validate', '--keys'], capture_output=True, text=True, check=True).stdout.strip(); \
	r.write_text(t[:a] + chr(10) + k + chr(10) + t[b:])"

clean:
	rm -rf out .pytest_cache
