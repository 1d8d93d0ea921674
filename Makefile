# Every target builds what it needs: a fresh clone runs `make demo` or `make test` and nothing else.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION := 3.13
PYTHON ?= $(shell scripts/find-python.sh $(PYTHON_VERSION))
VENV := .venv
SAM_VENV := .venv-sam
LAMBDA_VENV := .venv-lambda
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
REGION ?= us-east-1
SAM_CLI_VERSION := 1.150.1
# The Lambda-like interpreter of the install check: the boto3 floor pyproject.toml declares (the runtime's
# is at least that; AWS publishes no fixed number for python3.13, see constraints.txt) and the Powertools
# release of the pinned layer (template.yaml, Mappings.PowertoolsLayer;
# the check asserts they agree). Nothing else: the functions' own packages come from the build.
LAMBDA_BOTO3_VERSION := 1.40.0
POWERTOOLS_RELEASE := 3.24.0
export SAM_CLI_TELEMETRY := 0
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help demo screenshot test lint format typecheck cfn-lint checkov sam-validate unit integration sandbox-test e2e bench-smoke install-check build deploy forwarder-stackset bench fuzz clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

$(SAM_VENV)/.installed:
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) is required"; exit 1; }
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet 'aws-sam-cli==$(SAM_CLI_VERSION)'
	touch $@

$(LAMBDA_VENV)/.installed: Makefile
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) is required"; exit 1; }
	rm -rf $(LAMBDA_VENV) && $(PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install --quiet 'boto3==$(LAMBDA_BOTO3_VERSION)' 'aws-lambda-powertools[parser]==$(POWERTOOLS_RELEASE)'
	touch $@

demo: $(VENV)/.installed ## Tell the whole story in the offline sandbox
	$(BIN)/pushpilot simulate scenarios/demo.yaml --report reports/demo.json --html reports/demo.html

# Not part of `make test`: installs Debian's chromium only when it is missing, then draws the demo page.
screenshot: demo ## Draw reports/demo.html into docs/demo-thread.png with headless Chromium
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y --no-install-recommends chromium
	@test -n "$$(fc-list 2>/dev/null | grep -i 'color emoji')" || \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y --no-install-recommends fonts-noto-color-emoji
	@profile=$$(mktemp -d) && trap 'rm -rf "$$profile"' EXIT && \
	  $$(command -v chromium || command -v chromium-browser) --headless --no-sandbox --disable-gpu --disable-quic \
	    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
	    --user-data-dir="$$profile" --hide-scrollbars --window-size=1400,2400 \
	    --screenshot=docs/demo-thread.png "file://$(CURDIR)/reports/demo.html"

test: lint typecheck cfn-lint checkov sam-validate unit integration sandbox-test e2e bench-smoke install-check ## Every check CI runs

lint: $(VENV)/.installed ## ruff: lint and formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# mypy cannot follow the editable install's package-dir mapping, so it reads the packages through
# links named as they are imported.
TYPES_DIR := .mypy_packages
typecheck: $(VENV)/.installed ## mypy --strict over the layer, handlers, sandbox, CLI and benchmark
	@mkdir -p $(TYPES_DIR) && ln -sfn ../sandbox $(TYPES_DIR)/pushpilot_sandbox && ln -sfn ../cli $(TYPES_DIR)/pushpilot_cli
	MYPYPATH=$(TYPES_DIR):layers/pushpilot/python $(BIN)/mypy -p pushpilot -p pushpilot_sandbox -p pushpilot_cli
	@# The fakes satisfy the ports' Protocols as written: checked here, with no cast anywhere.
	MYPYPATH=$(TYPES_DIR):layers/pushpilot/python $(BIN)/mypy tests/fakes.py
	@for handler in functions/*/app.py; do \
	  echo "mypy $$handler"; \
	  MYPYPATH=$(TYPES_DIR):layers/pushpilot/python $(BIN)/mypy $$handler || exit 1; \
	done

cfn-lint: $(VENV)/.installed ## cfn-lint on every template
	$(BIN)/cfn-lint template.yaml $(wildcard forwarder/template.yaml)

checkov: $(VENV)/.installed ## checkov on every template (skips are justified inline)
	$(BIN)/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml $(addprefix -f ,$(wildcard forwarder/template.yaml))

sam-validate: $(SAM_VENV)/.installed ## sam validate --lint on every template
	$(SAM) validate --lint --region $(REGION) -t template.yaml
	$(if $(wildcard forwarder/template.yaml),$(SAM) validate --lint --region $(REGION) -t forwarder/template.yaml)

unit: $(VENV)/.installed ## Pure tests: no sockets
	$(BIN)/pytest -q tests/unit

integration: $(VENV)/.installed ## Adapters against moto, in process
	$(BIN)/pytest -q tests/integration

sandbox-test: $(VENV)/.installed ## The sandbox's own tests: emulators, gateway, router, stand-ins
	$(BIN)/pytest -q -n 2 tests/sandbox

e2e: $(VENV)/.installed ## The product through the sandbox on 127.0.0.1: handlers, flows, scenarios
	$(BIN)/pytest -q -n 2 tests/e2e

# The install a first-time user runs, against moto on 127.0.0.1 (a free port, started and stopped by the
# check): `sam build` -> `sam package` into moto's S3 -> the SAM translator -> cfn-lint with informational
# rules on the expanded templates -> both stacks created through change sets (CreateChangeSet, then
# ExecuteChangeSet, as `sam deploy` does) in moto's CloudFormation -> compared with the
# README (tests/install/promises.py) -> each packaged function imported and invoked once in the
# Lambda-like interpreter ($(LAMBDA_VENV), run with -I) against the created table, queue and topic.
# Then a user's later days: `git pull` over a deployed checkout (answers in samconfig.local.toml), and
# `sam delete` of a second (prod) stack, which must leave the first stack's code under its own s3_prefix.
# Where moto falls short of CloudFormation, and what is checked on the expanded template instead:
# - it creates no AWS::Lambda::EventInvokeConfig (retries, on-failure destinations), AWS::CloudWatch::Alarm,
#   AWS::SQS::QueuePolicy, AWS::SNS::TopicPolicy or AWS::Events::EventBusPolicy: asserted on the template
#   (bus policy statement ids resolved for two stack names);
# - it drops function layers and attaches no managed policies to roles: layers and managed policies
#   (X-Ray only with XRayTracing=Active) asserted on the template;
# - it ignores the template's Rules and parameter constraints: the check evaluates them for every
#   samconfig.toml environment and for Slack mode without a secret;
# - it keeps Fn::If -> AWS::NoValue entries inside lists as nulls: the check drops the false ones first;
# - it has no App Runner API: the App Runner handler is invoked with an event that needs none.
# - it executes a change set without waiting for custom resources: the index fill's function is run with
#   the request CloudFormation sends and must answer it (the sandbox's stories show a stack that waits).
install-check: $(VENV)/.installed $(SAM_VENV)/.installed $(LAMBDA_VENV)/.installed ## Package, expand, lint and create the stacks in a local CloudFormation; run every handler
	$(MAKE) build
	$(BIN)/pytest -q -p no:cacheprovider tests/install

bench-smoke: $(VENV)/.installed ## A small run of the benchmark so it never rots
	$(BIN)/python -m bench.run --smoke --out reports/bench-smoke.json

bench: $(VENV)/.installed $(SAM_VENV)/.installed ## Measure cold start, per-event cost, calls per push, burst, memory, size
	$(MAKE) build
	$(BIN)/python -m bench.run --out bench/results.json

fuzz: $(VENV)/.installed ## The long fuzz run (10 000 examples per model)
	PUSHPILOT_FUZZ_EXAMPLES=10000 $(BIN)/pytest -q tests/unit -k fuzz

build: $(SAM_VENV)/.installed ## sam build, no Docker
	PATH="$(dir $(PYTHON)):$$PATH" $(SAM) build --region $(REGION)

# Service-managed StackSets refuse a template with a transform: the SAM translator renders the forwarder
# offline (README, "Every account of an organization").
forwarder-stackset: $(SAM_VENV)/.installed ## Render forwarder/template.yaml for a StackSet into forwarder.processed.json
	$(SAM_VENV)/bin/python scripts/render_forwarder.py forwarder/template.yaml forwarder.processed.json $(REGION)

# Your answers go to the git-ignored $(LOCAL_CONFIG) (seeded once from the tracked samconfig.toml), so a
# later `git pull` never meets a locally modified tracked file.
LOCAL_CONFIG := samconfig.local.toml
deploy: build ## sam deploy --guided into your account (answers saved in samconfig.local.toml)
	@test -f $(LOCAL_CONFIG) || cp samconfig.toml $(LOCAL_CONFIG)
	$(SAM) deploy --guided --config-file $(LOCAL_CONFIG)

clean: ## Remove virtual environments and build output
	rm -rf $(VENV) $(SAM_VENV) $(LAMBDA_VENV) .aws-sam reports .mypy_cache .ruff_cache .pytest_cache
