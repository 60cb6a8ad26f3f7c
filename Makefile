# mqcli: `make demo` and `make test` work on a fresh machine (Debian, root).
# Everything they need is installed here; nothing is expected to be set up by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
# The schema registry `make brokers` starts (brokers/registry.sh).
DEMO_REGISTRY := http://127.0.0.1:8081/apis/ccompat/v7
.PHONY: help install demo test test-unit lint bench bench-small completions clean

include brokers.mk

help:
	@echo "make demo         set up, start local Kafka + RabbitMQ, run a round trip through each"
	@echo "make test         set up, start the brokers, run make lint and the whole test suite"
	@echo "make lint         ruff (lint + format check) and mypy"
	@echo "make brokers      start the local brokers (logs in .brokers/logs)"
	@echo "make brokers-stop stop them"
	@echo "make bench        mqcli against kcat, Kafka's tools and PerfTest (report in bench-results/)"
	@echo "make completions  regenerate completions/ (bash, zsh, fish) and the fast path's mqcli/cli/_fastspec.py"

# The virtualenv is rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -qq --disable-pip-version-check -e '.[test,fast,schemas,streams]'
	@# An editable install compiles nothing, and without cached bytecode every
	@# command compiles typer, rich and the clients again (--help: 0.2 s -> 0.8 s
	@# here when the tree cannot be written).  Compile mqcli and the venv's
	@# packages now.  Not fatal: a package may ship a file for another Python.
	$(BIN)/python -m compileall -q -j 0 mqcli $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') > /dev/null || true
	touch $@

# The native Kafka engine (native/: Rust, PyO3, rdkafka), built into the venv
# when cargo is present; mqcli works the same without it, only slower at
# `kafka produce`.  rdkafka-sys compiles the librdkafka source it ships
# (minutes on a small machine; cargo reuses native/target afterwards).
# MQCLI_NATIVE=0 skips it.
NATIVE_STAMP := $(VENV)/.native
NATIVE_SRC := native/Cargo.toml native/Cargo.lock native/pyproject.toml native/src/lib.rs native/src/consume.rs
$(NATIVE_STAMP): $(STAMP) $(NATIVE_SRC)
	@if [ "$${MQCLI_NATIVE:-1}" = 0 ]; then \
	  echo "MQCLI_NATIVE=0: the native Kafka engine is not built"; \
	elif command -v cargo >/dev/null 2>&1; then \
	  native/deps.sh && start=$$(date +%s) && \
	  echo "building the native Kafka engine (native/; librdkafka's C build takes a few minutes)" && \
	  CARGO_BUILD_JOBS=$${CARGO_BUILD_JOBS:-2} $(BIN)/pip install -q --disable-pip-version-check ./native && \
	  echo "native Kafka engine built in $$(( $$(date +%s) - start ))s"; \
	else \
	  echo "cargo not found: the native Kafka engine is not built (mqcli works without it)"; \
	fi
	touch $@

install: $(STAMP) $(NATIVE_STAMP)

demo: install brokers
	@set -e; topic=mqcli-demo-$$(date +%s); queue=mqcli-demo; \
	echo "== Kafka: three lines into topic $$topic, then read back"; \
	printf 'hello\nfrom\nmqcli\n' | $(BIN)/mqcli kafka produce --create $$topic; \
	$(BIN)/mqcli kafka consume $$topic --offset beginning --exit-at-end --format '{partition}@{offset} {value}'; \
	echo "== RabbitMQ: one message through queue $$queue"; \
	$(BIN)/mqcli rabbit publish --queue $$queue --declare 'hello from mqcli'; \
	$(BIN)/mqcli rabbit consume $$queue --count 1 --timeout 10s --format '{queue}: {value}'; \
	$(BIN)/mqcli kafka topics delete $$topic --if-exists; \
	echo "== Kafka + schema registry: an Avro value through topic $$topic-avro, decoded back"; \
	schema=$$(mktemp --suffix=.avsc); \
	echo '{"type":"record","name":"Greeting","fields":[{"name":"text","type":"string"},{"name":"n","type":"int"}]}' >$$schema; \
	echo '{"text": "hello from mqcli", "n": 1}' | $(BIN)/mqcli kafka produce --create $$topic-avro \
	  --schema-registry $(DEMO_REGISTRY) --value-schema $$schema; \
	$(BIN)/mqcli kafka consume $$topic-avro --schema-registry $(DEMO_REGISTRY) --exit-at-end -o json; \
	rm -f $$schema; $(BIN)/mqcli kafka topics delete $$topic-avro --if-exists

test: lint brokers
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/core tests/cli

# Speed and memory are measured here, never asserted in tests.
bench: install brokers
	$(BIN)/python -m tests.bench --size full --out bench-results

bench-small: install brokers
	$(BIN)/python -m tests.bench --size small --out bench-results

completions: install
	for shell in bash zsh fish; do \
	  $(BIN)/python -m mqcli.cli.completions $$shell > completions/mqcli.$$shell; \
	done
	$(BIN)/python -m mqcli.cli.fastgen > mqcli/cli/_fastspec.py

clean: brokers-stop
	rm -rf $(VENV) .brokers .pytest_cache .hypothesis *.egg-info

# ruff (lint + format check) and mypy (mqcli.core strict); `make test` runs it first.
lint: install
	$(BIN)/ruff check mqcli tests
	$(BIN)/ruff format --check mqcli tests
	$(BIN)/mypy
