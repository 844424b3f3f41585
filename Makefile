# The mission service bus. `make help` lists the targets; `make run` and `make test` do all the set-up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KAFKA_JARS := deploy/kafka/lib/.fetched
AVRO_TOOLS := deploy/avro/lib/.fetched
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install jars run test unit integration lint typecheck bench kafka-start kafka-stop kafka-status clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP) ## Create the virtualenv and install the package with pinned versions

$(KAFKA_JARS): deploy/kafka/pom.xml
	$(PYTHON) deploy/kafka/launcher.py fetch
	@touch $@

$(AVRO_TOOLS): deploy/avro/pom.xml
	rm -rf deploy/avro/lib
	mvn -q -B -f deploy/avro/pom.xml dependency:copy-dependencies
	@touch $@

jars: $(KAFKA_JARS) $(AVRO_TOOLS) ## Fetch the Apache Kafka broker jars and Apache Avro's tools from Maven Central (cached)

run: $(STAMP) $(KAFKA_JARS) ## The main job: Kafka, topics, processors, simulator, live summary (Ctrl-C stops)
	$(BIN)/bus run

test: $(STAMP) $(KAFKA_JARS) $(AVRO_TOOLS) lint typecheck ## Lint, type-check and run every test (starts its own Kafka)
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(STAMP) ## Only the pure unit tests (no broker)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(STAMP) $(KAFKA_JARS) $(AVRO_TOOLS) ## Only the tests against the real broker
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

lint: $(STAMP) ## ruff (every rule, each ignored one with its reason) and the import layers (lint-imports)
	$(BIN)/ruff check services tests bench deploy
	$(BIN)/ruff format --check services tests bench deploy
	$(BIN)/lint-imports

typecheck: $(STAMP) ## mypy --strict on services/, bench/ and deploy/
	$(BIN)/mypy --strict services bench deploy

bench: $(STAMP) $(KAFKA_JARS) ## Benchmarks beside Kafka's own limits on the same broker, one table at the end (bench/results/)
	$(BIN)/python -m bench

kafka-start: $(KAFKA_JARS) ## Start the persistent dev broker on 127.0.0.1:9092
	$(PYTHON) deploy/kafka/launcher.py start

kafka-stop: ## Stop the dev broker
	$(PYTHON) deploy/kafka/launcher.py stop

kafka-status: ## Is the dev broker running?
	$(PYTHON) deploy/kafka/launcher.py status

clean: kafka-stop ## Stop the dev broker and remove its data and the virtualenv
	rm -rf var $(VENV) .mypy_cache .ruff_cache .pytest_cache
