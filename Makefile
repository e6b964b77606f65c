# dagster-livy: every target bootstraps what it needs (venv, pip, Maven jars), idempotently.
#   make demo   run the silver -> gold pipeline end to end through Dagster and a real Livy
#   make test   run the test suite (starts its own Livy on a free loopback port)
#   make lab    JupyterLab on 127.0.0.1:8888 with the pyspark-livy kernel (starts Livy if needed)
SHELL := /bin/bash
PYTHON_BIN ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export SPARK_LOCAL_IP := 127.0.0.1
export DAGSTER_HOME ?= $(CURDIR)/.dagster
export PYTHON := $(CURDIR)/$(PY)

.PHONY: help venv jars up down status demo dev test test-unit bench compose-check clean kernelspec lab

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'
	@echo "  make up / down / status   the local Livy server (127.0.0.1:$${LIVY_PORT:-8998})"
	@echo "  make dev                  Livy plus the Dagster UI on 127.0.0.1:3000"
	@echo "  make bench                benchmarks (printed tables)"

$(STAMP): pyproject.toml
	@command -v $(PYTHON_BIN) >/dev/null || { echo "need $(PYTHON_BIN) (Python 3.11+)"; exit 1; }
	@$(PYTHON_BIN) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "need Python >= 3.11, found " + sys.version.split()[0])'
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

venv: $(STAMP)

# The `pyspark-livy` Jupyter kernelspec (kernel runs as a Livy batch), installed into the venv.
KERNELSPEC := $(VENV)/share/jupyter/kernels/pyspark-livy/kernel.json
$(KERNELSPEC): $(STAMP) dagster_livy/jupyter/kernelspec.py
	$(PY) -m dagster_livy.jupyter.kernelspec install

kernelspec: $(KERNELSPEC)

jars: $(STAMP)
	@$(PY) livy/livyctl.py jars

up: jars
	@$(PY) livy/livyctl.py up

down:
	@$(PYTHON_BIN) livy/livyctl.py down

status:
	@$(PYTHON_BIN) livy/livyctl.py status

# Local Dagster instance: one Livy batch at a time in the `livy` pool (2 cores), no telemetry.
$(DAGSTER_HOME)/dagster.yaml:
	@mkdir -p $(DAGSTER_HOME)
	@printf 'concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\n' > $@

demo: jars kernelspec $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m dagster_livy.lakehouse.demo

dev: up $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000

test: jars kernelspec
	$(PY) -m pytest

test-unit: venv
	$(PY) -m pytest tests/unit -q

# JupyterLab on loopback; the URL with its token is printed first (JUPYTER_TOKEN to choose it).
LAB_PORT ?= 8888
lab: up kernelspec
	@token=$${JUPYTER_TOKEN:-$$($(PY) -c 'import secrets; print(secrets.token_hex(24))')}; \
	echo ""; echo "JupyterLab (kernel: PySpark on Livy): http://127.0.0.1:$(LAB_PORT)/lab?token=$$token"; echo ""; \
	exec $(VENV)/bin/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
	  --ServerApp.port_retries=0 --ServerApp.root_dir=$(CURDIR) --ServerApp.allow_root=True \
	  --IdentityProvider.token=$$token

bench: jars $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m bench

clean:
	-@$(PYTHON_BIN) livy/livyctl.py down
	rm -rf .livy .lakehouse .dagster
