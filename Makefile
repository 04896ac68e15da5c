# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run index test lint bench clean

setup: $(STAMP)

# torch==2.13.0 first: a CPU build lies on this machine's disk; any other version
# (or an unpinned torch pulled in by sentence-transformers) would fetch a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

index: setup
	$(BIN)/rag index

run: setup
	$(BIN)/rag serve

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check rag web tests
	$(BIN)/mypy rag

clean:
	rm -rf data .cache
