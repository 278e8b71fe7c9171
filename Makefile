# trademesh — `make up` starts the mesh on this machine, `make test` runs every test against
# real Consul, Kafka and nginx. Both provision what is missing first (cached in ~/.cache/trademesh).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STATE  := .trademesh
export TRADEMESH_STATE_DIR ?= $(CURDIR)/$(STATE)

.PHONY: help provision up down status gen proto-check test test-unit test-integration lint clean

help:
	@echo "make up          provision on first run and start the mesh"
	@echo "make down        stop everything make up started"
	@echo "make status      what runs where"
	@echo "make test        provision and run every test against real components"
	@echo "make test-unit   only the unit tests (quick loop)"
	@echo "make gen         regenerate gen/ from proto/"
	@echo "make proto-check buf lint, buf breaking against the previous commit, gen/ freshness"
	@echo "make lint        ruff check, ruff format --check, mypy strict"

$(STAMP): pyproject.toml
	@start=$$(date +%s); mkdir -p $(STATE); \
	if [ ! -x $(BIN)/python ]; then $(PYTHON) -m venv $(VENV) || { \
	  echo "✗ python   could not create $(VENV) with $(PYTHON) (need Python >= 3.11 with venv)"; exit 1; }; fi; \
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip > $(STATE)/pip.log 2>&1 && \
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]' >> $(STATE)/pip.log 2>&1 || { \
	  echo "✗ python   pip install -e '.[test]' failed; log: $(STATE)/pip.log"; tail -20 $(STATE)/pip.log; exit 1; }; \
	touch $@; \
	echo "✓ python   $$($(BIN)/python -c 'import platform; print(platform.python_version())')   .venv with trademesh installed editable ($$(( $$(date +%s) - start )).0s)"

provision: $(STAMP)
	@$(BIN)/trademesh provision

up: provision
	@$(BIN)/trademesh up

down:
	@if [ -x $(BIN)/trademesh ]; then $(BIN)/trademesh down; else echo "nothing to stop"; fi

status: $(STAMP)
	@$(BIN)/trademesh status

gen: provision
	@$(BIN)/trademesh gen

proto-check: provision
	@$(BIN)/python -m mesh.codegen lint
	@$(BIN)/python -m mesh.codegen breaking
	@$(BIN)/python -m mesh.codegen check

test: provision proto-check lint
	@$(BIN)/python -m pytest tests

test-unit: $(STAMP)
	@$(BIN)/python -m pytest tests/unit

test-integration: provision
	@$(BIN)/python -m pytest tests/integration

LINTED := mesh interceptors services tests $(wildcard edge bench)

lint: $(STAMP)
	@$(BIN)/ruff check $(LINTED)
	@$(BIN)/ruff format --check $(LINTED)
	@$(BIN)/mypy

clean:
	rm -rf $(VENV) $(STATE) build *.egg-info
