# The two commands of the README are `make demo` (the main job) and `make test` (the quality gate).
# Both set everything up from nothing: a virtual environment with the pinned Python packages, the
# pinned CDK CLI from npm, and the jsii cache on first synth. CI runs exactly `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CDK := node_modules/.bin/cdk
CDK_OUT := cdk.out
# checkov pins its own boto3/botocore (older than ours): it gets a virtual environment of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30

# Keep the CDK CLI and jsii offline and quiet: no notices, telemetry or version check, and no
# node-20 end-of-life banner on every jsii start.
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1
# checkov runs offline: no Prisma Cloud download (--skip-download) and no PyPI version check.
export CKV_SKIP_PACKAGE_UPDATE_CHECK := true

.PHONY: setup browser synth checkov demo test static lint typecheck unit deploy diff destroy clean bench

# The Lambda Python runtime's SDK at the version the project counts on (infra.lambda_runtime.RUNTIME_SDK):
# the asset tests import each function with it, as Lambda would, when the function bundles none.
LAMBDA_RUNTIME_SITE := build/lambda-runtime
LAMBDA_RUNTIME_SDK := 1.35.90

setup: $(VENV)/.installed node_modules/.installed $(LAMBDA_RUNTIME_SITE)/.installed

# The report test loads the HTML report in a real headless Chromium, from Debian's packages.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing chromium (Debian package) for the report test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# Rebuilt when the pin above changes (the stamp depends on this Makefile).
$(LAMBDA_RUNTIME_SITE)/.installed: Makefile
	rm -rf $(LAMBDA_RUNTIME_SITE)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile --no-warn-conflicts --root-user-action=ignore \
		--target $(LAMBDA_RUNTIME_SITE) boto3==$(LAMBDA_RUNTIME_SDK) botocore==$(LAMBDA_RUNTIME_SDK)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Rebuilt when the pin above changes (the stamp depends on this Makefile).
$(CHECKOV_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

## synth: synthesize every configured environment into cdk.out/ and summarize it
synth: setup
	$(CDK) synth --quiet --no-notices --output $(CDK_OUT) > /dev/null
	$(BIN)/python -m infra.summary $(CDK_OUT)

## checkov: scan the synthesized templates; every finding is fixed or acknowledged in the template
checkov: synth $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov -d $(CDK_OUT) --framework cloudformation --compact --skip-download --quiet

## demo: the main job: synth, validate the bundled examples, simulate a run offline
demo: synth
	$(BIN)/bedrock-customize check examples/runs/fine-tuning.yaml
	$(BIN)/bedrock-customize check examples/runs/distillation.yaml
	$(BIN)/bedrock-customize check examples/runs/reinforcement-fine-tuning.yaml
	$(BIN)/bedrock-customize simulate examples/runs/fine-tuning.yaml --scenario happy \
		--template $(CDK_OUT)/BedrockCustomization-dev.template.json

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Parallel workers, one per core; a scenario's tests (and a sandbox module's) share a worker
# (tests/simulation/conftest.py, tests/sandbox/conftest.py), the app is synthesized once per run.
PYTEST_WORKERS ?= auto
unit: setup browser
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

## test: the whole quality gate (what CI runs)
# Two phases, each run side by side: first every install (the project's venv, the CDK CLI, the
# runtime SDK stand-in, checkov's own venv, Chromium), so checkov's is never on the critical path;
# then the static checks, the CLI synth with its checkov scan, and the test suite.
test:
	$(MAKE) --no-print-directory -j5 $(VENV)/.installed node_modules/.installed \
		$(LAMBDA_RUNTIME_SITE)/.installed $(CHECKOV_VENV)/.installed browser
	$(MAKE) --no-print-directory -j3 --output-sync=target static checkov unit

static: lint typecheck

deploy: setup
	$(CDK) deploy --no-notices $(STACK)

diff: setup
	$(CDK) diff --no-notices $(STACK)

destroy: setup
	$(CDK) destroy --no-notices $(STACK)

bench: setup
	$(BIN)/python benchmarks/bench_validate.py

clean:
	rm -rf $(CDK_OUT) .pytest_cache .mypy_cache .ruff_cache build

## path: print the line that puts bedrock-customize on your PATH; run it as: eval "$$(make -s path)"
.PHONY: path
path:
	@test -x $(BIN)/bedrock-customize || { echo "$(BIN)/bedrock-customize does not exist yet: run 'make setup' first" >&2; exit 1; }
	@echo 'export PATH="$(abspath $(BIN)):$$PATH"'

## sandbox: a local AWS stand-in with the synthesized stack as environment `sandbox` (Ctrl-C stops it)
.PHONY: sandbox
SANDBOX_PORT ?= 4599
sandbox: synth
	$(BIN)/bedrock-customize sandbox --port $(SANDBOX_PORT) \
		--template $(CDK_OUT)/BedrockCustomization-dev.template.json
