# p2pchain developer entry points. Everything installs from PyPI and npm only, pinned:
# requirements.lock (runtime) and requirements-dev.lock (tests) for Python (.venv), package.json + package-lock.json for the JS toolchain
# (solc, OpenZeppelin, Anvil, Ganache in node_modules). Stamp files make re-runs instant.

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.p2pchain-installed
DEV_STAMP := $(VENV)/.p2pchain-dev-installed
NPM_STAMP := node_modules/.p2pchain-installed
# ape and brownie cannot share a virtualenv: each gets its own, from its own lock file, with
# p2pchain installed into it (--no-deps: the lock already holds what fits beside the framework).
APE_VENV := .venv-ape
BROWNIE_VENV := .venv-brownie
APE_STAMP := $(APE_VENV)/.p2pchain-installed
BROWNIE_STAMP := $(BROWNIE_VENV)/.p2pchain-installed
# Lint tools, installed into .venv only by `make typecheck`.
LINT_PINS := mypy==2.4.1 ruff==0.17.5

.PHONY: test demo compile gas deploy solc venv node typecheck oracles browser postgres page fuzz slither bench bench-quick
.PHONY: ape-venv brownie-venv ape-check brownie-check ape-compile

# tests/frameworks drives ape and brownie from their venvs, so the test run needs both.
test: $(DEV_STAMP) $(NPM_STAMP) oracles browser postgres $(APE_STAMP) $(BROWNIE_STAMP)
	$(VPY) -m pytest -q -n 2

# The indexer's ingest ratio on a small set of trades (under a minute), against
# docs/bench-quick.json. Not part of `make test`: the ratio moves by 15% between machines, so
# it is a check to run on the machine that recorded it, before and after a change to ingest.
bench-quick: $(DEV_STAMP) $(NPM_STAMP)
	$(VPY) scripts/bench_guard.py --quick

# Every benchmark, each next to its in-run baseline; fails when a ratio dropped by more than
# 10% from the committed reports (docs/bench-*.json). Minutes, not for CI. Commit the
# regenerated reports when the figures are right.
bench: $(DEV_STAMP) $(NPM_STAMP) postgres
	$(VPY) scripts/bench_cli.py
	$(VPY) scripts/bench_sign.py
	$(VPY) scripts/bench_trades.py
	$(VPY) scripts/bench_api.py
	$(VPY) scripts/bench_messaging.py
	$(VPY) scripts/bench_ipfs.py
	$(VPY) scripts/bench_indexer_pg.py
	$(VPY) scripts/bench_guard.py --compare

# The embedded demo needs only the runtime pins (shipped artifacts, in-process chain and IPFS):
# no test tools, no npm step.
demo: $(VENV_STAMP)
	$(VPY) scripts/demo.py

compile: $(VENV_STAMP) $(NPM_STAMP)
	$(VPY) scripts/compile.py

gas: $(VENV_STAMP) $(NPM_STAMP)
	$(VPY) scripts/gas_report.py

# make deploy NETWORK=anvil|ganache|embedded|<url>
NETWORK ?= embedded
deploy: $(VENV_STAMP) $(NPM_STAMP)
	$(VPY) scripts/deploy.py --network $(NETWORK)

# Put solc 0.8.30 where py-solc-x (and so ape and brownie) look for it, without downloading.
solc: $(VENV_STAMP) $(NPM_STAMP)
	$(VPY) -c "from p2pchain.compiler._solc import ensure_solc; print(ensure_solc())"

typecheck: $(VENV_STAMP)
	$(VPY) -m pip install -q $(LINT_PINS)
	$(VPY) -m mypy p2pchain scripts frontend_api
	$(VPY) -m ruff check p2pchain scripts tests frontend_api

# Longer fuzzing campaigns than the test suite's: the hypothesis state machine and Foundry's
# invariant fuzzer (forge from npm, compiled offline by our solc wrapper). Prints the figures and
# writes docs/fuzz-report.md. More or less: make fuzz FUZZ_ARGS="--examples 1000 --forge-runs 1000"
FUZZ_ARGS ?=
fuzz: $(DEV_STAMP) $(NPM_STAMP)
	$(VPY) scripts/fuzz.py $(FUZZ_ARGS)

# Slither (from requirements-dev.lock) on contracts/, through our solc wrapper; fails on a High or
# Medium finding missing from tests/contracts/slither-triage.json (make test runs it too).
slither: $(DEV_STAMP) $(NPM_STAMP)
	$(VPY) scripts/slither_check.py

venv: $(VENV_STAMP)
node: $(NPM_STAMP)
ape-venv: $(APE_STAMP)
brownie-venv: $(BROWNIE_STAMP)

# The framework checks alone (make test runs them too): compile offline to p2pchain's exact
# bytecode, the framework's own tests (ape: local network and Anvil; brownie: Anvil), and a
# `run deploy` that the p2pchain client then uses.
ape-check: $(DEV_STAMP) $(NPM_STAMP) $(APE_STAMP)
	$(VPY) -m pytest -q tests/frameworks/test_ape.py

brownie-check: $(DEV_STAMP) $(NPM_STAMP) $(BROWNIE_STAMP)
	$(VPY) -m pytest -q tests/frameworks/test_brownie.py

# `ape compile` with its prerequisites (venv, node_modules for OpenZeppelin, offline solc).
ape-compile: $(APE_STAMP) $(NPM_STAMP) solc
	$(APE_VENV)/bin/ape compile

$(APE_STAMP): requirements-ape.lock pyproject.toml
	test -x $(APE_VENV)/bin/python || $(PYTHON) -m venv $(APE_VENV)
	$(APE_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps -r requirements-ape.lock
	$(APE_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(BROWNIE_STAMP): requirements-brownie.lock pyproject.toml
	test -x $(BROWNIE_VENV)/bin/python || $(PYTHON) -m venv $(BROWNIE_VENV)
	$(BROWNIE_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps -r requirements-brownie.lock
	$(BROWNIE_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV_STAMP): requirements.lock pyproject.toml
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(VPY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(DEV_STAMP): $(VENV_STAMP) requirements-dev.lock
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements.lock -r requirements-dev.lock
	touch $@

# A fresh checkout gets exactly the lockfile (npm ci); an existing node_modules whose
# package.json or lockfile changed is updated in place (npm install), not wiped.
$(NPM_STAMP): package.json $(wildcard package-lock.json)
	if [ -d node_modules ] || [ ! -f package-lock.json ]; then npm install --no-audit --no-fund; \
	else npm ci --no-audit --no-fund; fi
	touch $@

# The IPFS tests compare our CIDs with the Debian package ipfs-cid (`ipfs_cid`). Install it with
# apt when missing (root only); otherwise say what to install.
oracles:
	@command -v ipfs_cid >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ipfs-cid \
	    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ipfs-cid; }; \
	  else echo "ipfs_cid not found: install the Debian package ipfs-cid (sudo apt-get install ipfs-cid)" >&2; exit 1; fi; }

# The web page is tested in Debian's Chromium (driven by playwright; never `playwright install`)
# and the API is load-tested with wrk. Install both with apt when missing (root only).
browser:
	@{ command -v chromium >/dev/null 2>&1 && command -v wrk >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium wrk \
	    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium wrk; }; \
	  else echo "chromium or wrk not found: install the Debian packages (sudo apt-get install chromium wrk)" >&2; exit 1; fi; }

# The indexer tests run on SQLite and on a throwaway PostgreSQL cluster (initdb/pg_ctl from
# Debian's postgresql). Install it with apt when missing (root only); otherwise say what to install.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql \
	    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; }; \
	  else echo "PostgreSQL not found: install the Debian package postgresql (sudo apt-get install postgresql)" >&2; exit 1; fi; }

# The web page's bundles of viem and nostr-tools (frontend_api/static/vendor/viem.js, nostr.js), built by esbuild from the
# pinned npm packages and committed, so the API serves the page without a build step;
# tests/api/test_bundle.py fails when the committed bundle is not what this builds.
ESBUILD_FLAGS := --bundle --format=esm --minify --target=es2020 --legal-comments=none --log-level=warning
page: $(NPM_STAMP)
	node_modules/.bin/esbuild frontend_api/static/vendor/viem-entry.js $(ESBUILD_FLAGS) --outfile=frontend_api/static/vendor/viem.js
	node_modules/.bin/esbuild frontend_api/static/vendor/nostr-entry.js $(ESBUILD_FLAGS) --outfile=frontend_api/static/vendor/nostr.js
