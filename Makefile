# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run status send event tail token test test-broadcasts lint format clean screenshots package bench bench-smoke smoke chaos abuse fuzz

# `make tail USER=bob`: USER from the environment is your login name, not an inbox user.
INBOX_USER := $(if $(filter command line,$(origin USER)),$(USER),alice)
# `make token USER=x ADMIN=1`: an admin token. Only ADMIN on the command line counts (the README's curl
# lines export ADMIN=<a token>); ADMIN=0 or ADMIN= asks for a plain one.
ADMIN_FLAG := $(if $(filter command line,$(origin ADMIN)),$(if $(filter-out 0,$(ADMIN)),--admin))
# `make send` sends the quick start's example; override any part: `make send TO=bob TITLE="Hi"`
# (on the command line only: plain `=` keeps same-named environment variables out).
CHANNEL = deploys
TO = alice,bob
PRESET = pipeline
TITLE = Deployed {{version}}
CONTENT = All checks passed.
URL = /releases/{{version}}
DATA = version=2.14.0

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip==26.2.1"  # chalice 1.34 needs pip < 26.3
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# React 18 and Vue 3 for the browser tests' host pages of the <inapp-inbox> element (tests/browser/hosts/):
# test-only, never shipped; without npm those tests are skipped.
HOSTS := tests/browser/hosts
HOSTS_STAMP := $(HOSTS)/node_modules/.package-lock.json

$(HOSTS_STAMP): $(HOSTS)/package.json $(HOSTS)/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix $(HOSTS) --no-audit --no-fund --ignore-scripts --loglevel=error; \
	else echo "npm not found: the React and Vue host pages' browser tests will be skipped (.ci/run installs npm)"; fi

install: $(STAMP) $(HOSTS_STAMP)

run: install ## start the whole local stack (docs/local-stack.md)
	$(PY) -m infra.local serve

# The next four talk to a running `make run` (which installed everything), so they install nothing:
# a second pip run racing the first terminal's would gain nothing. Ports come from the stack's state file.
status: ## is the local stack running, and where (URLs, demo tokens)?
	@$(PY) -m infra.local status

send: ## send the quick start's example message through the running stack (CHANNEL, TO, TITLE, CONTENT, URL, DATA)
	@$(PY) -m infra.local send --channel "$(CHANNEL)" --to "$(TO)" --title "$(TITLE)" --content "$(CONTENT)" \
		--url "$(URL)" --duration 8 --data "$(DATA)"

event: ## an EventBridge preset's sample AWS event (PRESET=pipeline or health) into channel ops, TO subscribed first
	@$(PY) -m infra.local event --preset "$(PRESET)" --channel ops --subscribe "$(TO)"

tail: ## print the frames USER's socket receives (default alice)
	@$(PY) -m infra.local tail --user "$(INBOX_USER)"

token: ## print a fresh 24 h token for USER (default alice), for the pages' sign-in; ADMIN=1: an admin's
	@$(PY) -m infra.local token "$(INBOX_USER)" $(ADMIN_FLAG)

test: install ## run every test
	$(PY) -m pytest

test-broadcasts: install ## the service, stack and browser tests with every audience send a broadcast (threshold 0)
	INAPP_BROADCAST_THRESHOLD=0 $(PY) -m pytest tests/service tests/stack tests/browser

lint: install package ## ruff, mypy, the SAM transform run offline, and cfn-lint on both templates
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app.py chalicelib infra bench clients/python/inapp_client
	$(PY) -m infra.deploy.transform build/sam.yaml --out build/transformed.json
	$(VENV)/bin/cfn-lint build/sam.yaml build/transformed.json

package: install ## build/sam.yaml (Chalice + infra/deploy/template.yaml) and build/deployment.zip (docs/deploy.md)
	$(PY) -m infra.deploy.package --out build

smoke: install ## black-box check: send, frame, read, counts; the local stack, or a deployed one (INAPP_HTTP_URL…)
	$(PY) -m infra.checks.smoke

chaos: install ## ≥ 10,000 deliveries (receivers and audience sends) through the local stack while it injects faults; 0 lost, exact counters, 0 5xx
	$(PY) -m infra.checks.chaos

abuse: install ## one hostile user among 19 normal ones: their p99 send→frame latency with it ≤ 1.5× without, 0 lost, 429s only to it
	$(PY) -m infra.checks.abuse

fuzz: install ## schemathesis from the OpenAPI document against the local stack (≈ 2 min), every check
	$(PY) -m infra.checks.fuzz --max-time 120

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache $(HOSTS)/node_modules

screenshots: install ## regenerate docs/inbox-*.png, docs/embed-*.png and docs/admin-*.png in headless Chromium
	$(PY) -m tests.screenshots

bench: install package ## every benchmark (≤ 7 min), then docs/benchmarks.md's figures from bench/results/
	$(PY) -m bench.posts
	$(PY) -m bench.cost
	$(PY) -m bench.e2e
	$(PY) -m bench.throughput
	$(PY) -m bench.coldstart
	$(PY) -m bench.broadcast
	$(PY) -m bench.report

bench-smoke: install ## every benchmark with tiny parameters (< 60 s), results in a scratch folder; judges no speed
	rm -rf build/bench-smoke
	$(PY) -m bench.posts --smoke --out build/bench-smoke
	$(PY) -m bench.cost --smoke --out build/bench-smoke
	$(PY) -m bench.e2e --smoke --out build/bench-smoke
	$(PY) -m bench.throughput --smoke --out build/bench-smoke
	$(PY) -m bench.coldstart --smoke --out build/bench-smoke
	$(PY) -m bench.broadcast --smoke --out build/bench-smoke
