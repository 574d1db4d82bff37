# MicroServiceHub: `make dev` runs the platform natively, `make test` runs every test.
# Both install what is missing first (system packages with apt-get, Python packages in .venv).

PYTHON_SYSTEM ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The Kubernetes checks' tools (kubectl, kubernetes-validate, checkov), apart: checkov pins its own.
DEPLOY_VENV := .venv-deploy
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed-stamp
UV := $(VENV)/bin/uv
# Locks (`make lock`): every Python environment the project ships, every package pinned with its
# hashes. Inputs, edited by hand: requirements-dev.txt, each service's requirements.txt,
# bench/requirements.txt, libs/pyproject.toml and libs/build-requirements.txt (libs/'s build
# backend). Outputs: requirements-dev.lock (.venv), <service>/requirements.lock (its image) and
# bench/requirements.lock (added to .venv by bench-load and chaos), deploy/requirements.lock (the
# Kubernetes checks' tools, in .venv-deploy), resolved for the images' Python
# (python:3.11.14-slim-bookworm: glibc 2.36, x86_64), and for every 3.11 patch release: Debian 12's
# python3 is 3.11.2, whose redis needs async-timeout (below 3.11.3). The service and bench locks take the dev
# lock as a constraint, so that the tests run the versions the images run.
SERVICES := gateway mainapp microservices/catalog microservices/orders
LOCK_PYTHON := 3.11
LOCK_PLATFORM := x86_64-manylinux_2_36
LOCK_FLAGS ?=
COMPILE := $(UV) pip compile --quiet --generate-hashes --python-version $(LOCK_PYTHON) \
	--python-platform $(LOCK_PLATFORM) --custom-compile-command "make lock" $(LOCK_FLAGS)

FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) frontend/index.html frontend/package.json frontend/package-lock.json frontend/vite.config.ts frontend/tsconfig.json

.PHONY: install lock dev test lint format clean bench bench-gateway bench-orders bench-load bench-ws bench-web frontend-test fuzz chaos openapi images push-images

# The lock, hashes required; then libs/ itself (editable, no dependencies: they are in the lock),
# built with the locked setuptools.
$(STAMP): requirements-dev.lock libs/pyproject.toml
	$(PYTHON_SYSTEM) -m devstack.system
	test -x $(PY) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e ./libs
	touch $(STAMP)

$(DEPLOY_STAMP): deploy/requirements.lock
	test -x $(DEPLOY_VENV)/bin/python || $(PYTHON_SYSTEM) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --require-hashes -r deploy/requirements.lock
	touch $(DEPLOY_STAMP)

install: $(STAMP)  ## system packages + .venv with every service's requirements and the dev tools, from requirements-dev.lock

lock: install  ## after editing a requirements*.txt or libs/pyproject.toml: refresh every lock (LOCK_FLAGS=--upgrade: newest allowed versions)
	$(COMPILE) --no-emit-package msh-libs -o requirements-dev.lock \
		requirements-dev.txt libs/build-requirements.txt
	for service in $(SERVICES); do \
		$(COMPILE) -c requirements-dev.lock -o $$service/requirements.lock \
			$$service/requirements.txt libs/pyproject.toml libs/build-requirements.txt || exit 1; \
	done
	$(COMPILE) -c requirements-dev.lock -o bench/requirements.lock bench/requirements.txt
	$(COMPILE) -o deploy/requirements.lock deploy/requirements.txt

# The browser app the gateway serves at /: npm ci when needed, then npm run build.
frontend/dist/index.html: $(FRONTEND_SOURCES)
	$(PYTHON_SYSTEM) -m devstack.frontend

frontend-test: frontend/dist/index.html  ## the frontend's type check and component tests (Vitest)
	cd frontend && npm test

dev: install  ## start the platform natively on http://127.0.0.1:$${GATEWAY_PORT:-8000}
	$(PY) -m devstack dev

test: install $(DEPLOY_STAMP) frontend/dist/index.html  ## every test of every part, each against real servers
	$(PY) -m devstack.system
	cd frontend && npm test
	$(PY) -m pytest libs/tests
	cd gateway && ../$(PY) -m pytest
	cd mainapp && ../$(PY) -m pytest
	cd microservices/catalog && ../../$(PY) -m pytest
	cd microservices/orders && ../../$(PY) -m pytest
	$(PY) -m pytest tests

openapi: install frontend/dist/index.html  ## after an API change: save the merged OpenAPI document, regenerate the SPA's API types
	$(PY) -m devstack openapi frontend/openapi.json
	cd frontend && npm run gen:api -- openapi.json

fuzz: install  ## Schemathesis against every service's OpenAPI through the gateway, more examples; hostile bodies and headers
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(PY) -m pytest tests/test_fuzz_openapi.py tests/test_fuzz_hostile.py

lint: install  ## ruff, mypy (pyproject.toml: strict on libs/ and every domain/), complexity <= 15
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m devstack.complexity

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: bench-gateway bench-orders bench-load bench-ws bench-web  ## every benchmark; figures printed, written to bench/results/ and bench/REPORT.md

bench-gateway: install  ## gateway vs nginx vs direct, with wrk (installs nginx and wrk if missing)
	$(PY) -m bench.gateway_bench

bench-orders: install  ## orders placed at a steady rate, then at saturation: placed->confirmed latency
	$(PY) -m bench.orders_bench

bench-ws: install  ## 1,000 notification sockets through the gateway: fan-out latency, memory per socket, REST beside them
	$(PY) -m bench.ws_bench

bench-web: install frontend/dist/index.html  ## Lighthouse 12.2.3 (mobile, Debian's Chromium) on home, product and login: scores, bytes, timings
	cd bench/web && npm ci --no-audit --no-fund --silent
	$(PY) -m bench.web_bench

bench-load: install  ## Locust at 10, 50, 100 users through the gateway: latency, failures, RSS
	$(PY) -m pip install --quiet --require-hashes -r bench/requirements.lock
	$(PY) -m bench.load.run

chaos: install  ## fault drills while orders flow: workers SIGKILLed, Redis and PostgreSQL restarted, catalog stopped; invariants checked
	$(PY) -m pip install --quiet --require-hashes -r bench/requirements.lock
	$(PY) -m bench.chaos

# The five images, tagged IMAGE_TAG (default: the commit), as the compose files build them; with
# REGISTRY set, pushed there as $(REGISTRY)/microservicehub/<name>:$(IMAGE_TAG), the tag the
# Kubernetes overlays take (kustomize edit set image). CONTAINER=podman works too.
CONTAINER ?= docker
IMAGE_TAG ?= $(shell git rev-parse --short=12 HEAD)
IMAGES := gateway:gateway/Dockerfile:. mainapp:mainapp/Dockerfile:. \
	catalog:microservices/catalog/Dockerfile:. orders:microservices/orders/Dockerfile:. \
	frontend:frontend/Dockerfile:frontend

images:  ## build the five images, tagged microservicehub/<name>:$$(IMAGE_TAG) (default: the commit)
	for spec in $(IMAGES); do \
		name=$${spec%%:*}; rest=$${spec#*:}; file=$${rest%%:*}; context=$${rest#*:}; \
		$(CONTAINER) build -f $$file -t microservicehub/$$name:$(IMAGE_TAG) $$context || exit 1; \
	done

push-images: images  ## push them to $$(REGISTRY)/microservicehub/<name>:$$(IMAGE_TAG)
	test -n "$(REGISTRY)" || { echo "set REGISTRY (e.g. registry.example.com)"; exit 1; }
	for spec in $(IMAGES); do \
		name=$${spec%%:*}; \
		$(CONTAINER) tag microservicehub/$$name:$(IMAGE_TAG) $(REGISTRY)/microservicehub/$$name:$(IMAGE_TAG) && \
		$(CONTAINER) push $(REGISTRY)/microservicehub/$$name:$(IMAGE_TAG) || exit 1; \
	done

clean:  ## remove the native run's data (databases, keys, mail)
	if [ -f .run/data/postgres.location ]; then rm -rf "$$(cat .run/data/postgres.location)"; fi
	rm -rf .run
