# dagster-livy: every target bootstraps what it needs (venv, pip, Maven jars), idempotently.
#   make demo   run the silver -> gold pipeline end to end through Dagster and a real Livy
#   make test   run the test suite (starts its own Livy on a free loopback port)
#   make lab    JupyterLab on 127.0.0.1:8888 with the pyspark-livy kernel (starts Livy if needed)
#   make up CLUSTER=1 / make demo CLUSTER=1   the same on a Spark standalone cluster + PostgreSQL (docs/cluster.md)
SHELL := /bin/bash
PYTHON_BIN ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export SPARK_LOCAL_IP := 127.0.0.1
ifeq ($(CLUSTER),1)
export DAGSTER_HOME ?= $(CURDIR)/.dagster/cluster
endif
export DAGSTER_HOME ?= $(CURDIR)/.dagster
export PYTHON := $(CURDIR)/$(PY)
# CLUSTER=1: a Spark standalone master + 2 workers and PostgreSQL (catalog + Dagster storage) as
# local processes (livy/clusterctl.py); Livy, Dagster and pyiceberg get its settings from `env`.
CLUSTER ?=
CLUSTERCTL := livy/clusterctl.py
ifeq ($(CLUSTER),1)
WITH_CLUSTER = eval "$$($(PY) $(CLUSTERCTL) env)" &&
else
WITH_CLUSTER =
endif

.PHONY: help venv jars cds system-deps up down status demo dev test test-unit bench compose-check clean kernelspec lab screenshots

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'
	@echo "  make up / down / status   the local Livy server (127.0.0.1:$${LIVY_PORT:-8998}) and Spark History Server (127.0.0.1:$${SPARK_HISTORY_PORT:-18080}); CLUSTER=1 adds the Spark cluster + PostgreSQL"
	@echo "  make dev                  Livy plus the Dagster UI on 127.0.0.1:3000"
	@echo "  make bench                benchmarks (printed tables)"

$(STAMP): pyproject.toml
	@command -v $(PYTHON_BIN) >/dev/null || { echo "need $(PYTHON_BIN) (Python 3.11+)"; exit 1; }
	@$(PYTHON_BIN) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "need Python >= 3.11, found " + sys.version.split()[0])'
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(STAMP)

# The `pyspark-livy` Jupyter kernelspec (kernel runs as a Livy batch), installed into the venv.
KERNELSPEC := $(VENV)/share/jupyter/kernels/pyspark-livy/kernel.json
$(KERNELSPEC): $(STAMP) dagster_livy/jupyter/kernelspec.py
	$(PY) -m dagster_livy.jupyter.kernelspec install

kernelspec: $(KERNELSPEC)

jars: $(STAMP)
	@$(PY) livy/livyctl.py jars

# The Spark drivers' class data sharing archive (livyctl.py cds; docs/livy.md): about a minute
# once per JDK and jar set, then a stat of the jars; `conf`/`up` render it while it exists.
# Per spark-submit: 20k-row gold job 31.0 -> 22.4 CPU s, 1M -4 to -6 s, 10M -7 to -12 s.
cds: jars
	@$(PY) livy/livyctl.py cds || echo "warning: no CDS archive (see the error above); Livy batches run without it, only slower to start. SPARK_CDS=off skips the build (docs/livy.md)"

up: jars cds $(if $(filter 1,$(CLUSTER)),system-deps)
	@if [ "$(CLUSTER)" = 1 ]; then $(PY) $(CLUSTERCTL) up; fi
	@$(WITH_CLUSTER) $(PY) livy/livyctl.py up
	@$(PY) livy/livyctl.py history up

# Stops the cluster processes too when a cluster was started here (whatever CLUSTER says now);
# `livyctl down` stops the Spark History Server as well.
down:
	@$(PYTHON_BIN) livy/livyctl.py down
	@if [ -e "$${LAKEHOUSE_CLUSTER_DIR:-.cluster}/cluster.json" ]; then $(PYTHON_BIN) $(CLUSTERCTL) down; fi

status:
	@rc=0; $(PYTHON_BIN) livy/livyctl.py status || rc=$$?; \
	$(PYTHON_BIN) livy/livyctl.py history status || rc=$$?; \
	if [ "$(CLUSTER)" = 1 ] || [ -e "$${LAKEHOUSE_CLUSTER_DIR:-.cluster}/cluster.json" ]; then \
		$(PYTHON_BIN) $(CLUSTERCTL) status || rc=$$?; fi; exit $$rc

# Local Dagster instance, no telemetry. The default pool limit (every pool; the gold and notebook
# assets use the `livy` pool) follows the catalog: 1 on SQLite
# (one writer at a time), LIVY_POOL_LIMIT (3) on PostgreSQL with the instance there too
# (livy/clusterctl.py dagster_yaml; docs/cluster.md). Written once; CLUSTER=1 re-renders it, and
# `dev`/`demo` write that limit on the PostgreSQL instance as the `livy` pool's own before any
# run starts (dagster_livy/lakehouse/pools.py: Dagster's lazy pool creation races on PostgreSQL).
$(DAGSTER_HOME)/dagster.yaml:
	@$(WITH_CLUSTER) $(PYTHON_BIN) $(CLUSTERCTL) dagster-yaml $(DAGSTER_HOME)

.PHONY: dagster-yaml
dagster-yaml:
	@if [ "$(CLUSTER)" = 1 ]; then $(WITH_CLUSTER) $(PYTHON_BIN) $(CLUSTERCTL) dagster-yaml $(DAGSTER_HOME); fi

# CLUSTER=1: starts the cluster if it is not running, and stops it again if it started it.
demo: jars kernelspec $(if $(filter 1,$(CLUSTER)),system-deps dagster-yaml) $(DAGSTER_HOME)/dagster.yaml
	@if [ "$(CLUSTER)" = 1 ]; then \
		started=; $(PY) $(CLUSTERCTL) status >/dev/null 2>&1 || { $(PY) $(CLUSTERCTL) up && started=1; }; \
		$(WITH_CLUSTER) $(PY) -m dagster_livy.lakehouse.pools && $(WITH_CLUSTER) $(PY) -m dagster_livy.lakehouse.demo; rc=$$?; \
		[ -n "$$started" ] && $(PY) $(CLUSTERCTL) down; exit $$rc; \
	else $(PY) -m dagster_livy.lakehouse.demo; fi

dev: up $(if $(filter 1,$(CLUSTER)),dagster-yaml) $(DAGSTER_HOME)/dagster.yaml
	@if [ "$(CLUSTER)" = 1 ]; then $(WITH_CLUSTER) $(PY) -m dagster_livy.lakehouse.pools; fi
	@$(WITH_CLUSTER) $(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000

# System packages the tests run for real: nginx (the authenticating proxy in front of Livy,
# tests/reliability/test_security_proxy.py). Installed only when missing; the service is never
# started (policy-rc.d), the tests run their own nginx on a loopback port.
# postgresql: the cluster stack's catalog and Dagster storage (make up CLUSTER=1, tests/cluster);
# livy/clusterctl.py runs its own server on a loopback port, never the package's service.
SYSTEM_PACKAGES := nginx postgresql
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do command -v $$p >/dev/null || [ -x /usr/sbin/$$p ] || \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
		echo "missing system packages:$$missing; install them (Debian/Ubuntu: sudo apt-get install -y$$missing)"; exit 1; fi; \
	echo "installing$$missing (apt-get) ..."; \
	policy=/usr/sbin/policy-rc.d; own_policy=""; \
	if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy; chmod 755 $$policy; own_policy=1; fi; \
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; }; }; rc=$$?; \
	[ -n "$$own_policy" ] && rm -f $$policy; \
	[ $$rc = 0 ] || { echo "apt-get could not install$$missing"; exit 1; }

# Two workers, a file each at a time (module fixtures stay in one process): each worker starts its
# own Livy on a free port with its own lakehouse, so they never share a single-writer catalog.
# Two, not three: the suite is CPU-bound on two cores (3 workers: 0% idle and 16:24 against
# 14:48). The tests' Spark JVMs run C1-only JIT (SPARK_JVM_OPTIONS, tests/conftest.py): 9:49.
TEST_WORKERS ?= 2
test: jars system-deps kernelspec
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

test-unit: venv
	$(PY) -m pytest tests/unit -q

# JupyterLab on loopback; the URL with its token is printed first (JUPYTER_TOKEN to choose it).
# The token reaches jupyter_server as JUPYTER_TOKEN in its environment, not on argv (ps shows argv).
LAB_PORT ?= 8888
lab: up kernelspec
	@token=$${JUPYTER_TOKEN:-$$($(PY) -c 'import secrets; print(secrets.token_hex(24))')}; \
	echo ""; echo "JupyterLab (kernel: PySpark on Livy): http://127.0.0.1:$(LAB_PORT)/lab?token=$$token"; echo ""; \
	export JUPYTER_TOKEN=$$token; exec $(VENV)/bin/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
	  --ServerApp.port_retries=0 --ServerApp.root_dir=$(CURDIR) --ServerApp.allow_root=True

# The README's Dagster UI images (docs/img/dagster-*.png) from this instance, after `make demo`:
# headless Chromium (Debian's chromium, through system-deps) driven by playwright-core (npm,
# into .screenshots/). Only this target needs them, not `make test`.
PLAYWRIGHT_CORE_VERSION ?= 1.65.1
screenshots: venv $(DAGSTER_HOME)/dagster.yaml
	@$(MAKE) --no-print-directory system-deps SYSTEM_PACKAGES=chromium
	@test -d .screenshots/node_modules/playwright-core || { mkdir -p .screenshots && \
		npm install --prefix .screenshots --no-audit --no-fund --silent playwright-core@$(PLAYWRIGHT_CORE_VERSION); }
	$(PY) docs/screenshots.py

# BENCH_ARGS=--quick for a look (~7 min quiet; the full run ~19): the full run writes bench/img/*.png too (bench/README.md "Budget").
BENCH_ARGS ?=
bench: jars cds kernelspec $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m bench $(BENCH_ARGS)

clean:
	-@$(PYTHON_BIN) livy/livyctl.py down
	-@if [ -e .cluster/cluster.json ]; then $(PYTHON_BIN) $(CLUSTERCTL) down; fi
	rm -rf .livy .lakehouse .dagster .cluster
