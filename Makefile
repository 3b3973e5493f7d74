SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV ?= .venv
VENV_IAC ?= .venv-iac
BUILD ?= build
PYTEST_ARGS ?=
# Test processes (pytest-xdist); 0 runs the suite in this process. Three on two cores: much of
# a test's time is the provider's fixed waits (S3 lifecycle rules, instances), a core left idle.
PYTEST_WORKERS ?= 3
# Local training and serving (make sample-data train package serve).
DATA ?= $(BUILD)/sample
MODEL_DIR ?= $(BUILD)/model
MODEL ?= $(BUILD)/model.tar.gz
PORT ?= 8080
UI_PORT ?= 8000
TRAIN_ARGS ?= --arch resnet18 --no-pretrained --no-freeze-backbone --image-size 64 --epochs 3 --workers 0
# make emulator: its port (4566 unless given). make demo: its own emulator on this port (0: any
# free one); unset, on 4566 unless that is taken, then on a free one.
EMULATOR_PORT ?=
# make emulator: 1 runs the SageMaker jobs created on it (local mode), 0 only records them.
LOCAL_MODE ?= 1
# make local-stack / local-destroy: the stack's copy of terraform/ and its state.
LOCAL_STACK_DIR ?= $(BUILD)/local-stack
# make tf-init: where the stack's state lives: s3 (the bucket terraform/backend.hcl names) or
# local (this machine only, for a trial alone: an override file replaces the S3 backend).
STATE ?= s3
LOCAL_STATE_OVERRIDE := terraform/local_state_override.tf
# make deploy: the root module to apply, and extra terraform apply flags (-var-file=..., -auto-approve).
TF_DIR ?= terraform
TF_APPLY_ARGS ?=

# Root of a local Terraform provider mirror (the folder that holds registry.terraform.io/).
# Defaults to one found on this machine; empty means `terraform init` uses the registry.
TF_PLUGIN_MIRROR ?= $(patsubst %/registry.terraform.io,%,$(firstword $(shell find / -xdev -maxdepth 4 -type d -name registry.terraform.io 2>/dev/null)))
TF_CLI_CONFIG := $(abspath $(BUILD)/terraform.rc)
ifneq ($(strip $(TF_PLUGIN_MIRROR)),)
export TF_CLI_CONFIG_FILE := $(TF_CLI_CONFIG)
TF_CONFIG_DEP := $(TF_CLI_CONFIG)
endif

# Terraform and its AWS provider are Go programs, and the provider builds every service's schema
# each time it starts (twice per plan): a garbage-collection target of 400 (Go's default is 100)
# cuts their CPU by a quarter for half again the peak memory (bench.terraform_gc).
export GOGC ?= 400

VENV_STAMP := $(VENV)/.requirements.stamp
VENV_IAC_STAMP := $(VENV_IAC)/.requirements.stamp
PY := $(VENV)/bin/python

.PHONY: FORCE help setup parity-envs browser lint fmt test demo emulator local-stack local-destroy serve ui sample-data train package package-lambda package-code tf-config tf-init deploy iam-policies clean

help: ## Show this help (target names in colour on a terminal only)
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; else on=; off=; fi; \
		grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "}; {printf "  %s%-14s%s %s\n", on, $$1, off, $$2}'

# The installer is standard library only; it leaves out triton, which only GPUs run.
$(VENV_STAMP): requirements.txt requirements.lock local_stack/lean_install.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "Python 3.11 is required (PYTHON=$(PYTHON) is $$($(PYTHON) --version))"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing requirements.txt into $(VENV): torch, the SageMaker toolkits, the emulator (2-3 minutes the first time)"
	$(PYTHON) -m local_stack.lean_install $(PY) --lock requirements.lock -r requirements.txt
	@touch $@

$(VENV_IAC_STAMP): requirements-iac.txt
	@test -x $(VENV_IAC)/bin/python || $(PYTHON) -m venv $(VENV_IAC)
	$(VENV_IAC)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-iac.txt
	@touch $@

# Rewritten when TF_PLUGIN_MIRROR changes (FORCE), replaced only when its content differs.
$(TF_CLI_CONFIG): FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' \
		'provider_installation {' \
		'  filesystem_mirror {' \
		'    path    = "$(TF_PLUGIN_MIRROR)"' \
		'    include = ["registry.terraform.io/*/*"]' \
		'  }' \
		'  direct {' \
		'    exclude = ["registry.terraform.io/*/*"]' \
		'  }' \
		'}' > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; \
		echo "Terraform providers come from the mirror at $(TF_PLUGIN_MIRROR)"; fi

FORCE:

tf-config: $(TF_CONFIG_DEP) ## Write the offline Terraform CLI config when a provider mirror exists

tf-init: $(TF_CONFIG_DEP) ## terraform init in terraform/: state in the bucket of terraform/backend.hcl, or on this machine with STATE=local
	@case "$(STATE)" in \
	s3) [ -f terraform/backend.hcl ] || { echo "terraform/backend.hcl is missing: copy terraform/backend.hcl.example there and name your state bucket (README: Running it as a team), or keep the state on this machine: make tf-init STATE=local" >&2; exit 2; }; \
		rm -f $(LOCAL_STATE_OVERRIDE); \
		terraform -chdir=terraform init -input=false -backend-config=backend.hcl $$([ -t 1 ] || echo -no-color) ;; \
	local) printf '%s\n' '# Written by make tf-init STATE=local: the state stays on this machine (never committed).' \
			'terraform {' '  backend "local" {}' '}' > $(LOCAL_STATE_OVERRIDE); \
		terraform -chdir=terraform init -input=false $$([ -t 1 ] || echo -no-color) ;; \
	*) echo "STATE must be s3 (terraform/backend.hcl) or local, not '$(STATE)'" >&2; exit 2 ;; \
	esac

deploy: $(VENV_STAMP) $(TF_CONFIG_DEP) ## terraform apply in TF_DIR keeping auto scaling's instance count, then mlops verify
	@count="$$($(PY) -m mlops status --terraform-dir $(TF_DIR) --desired-instance-count)"; \
		if [ -n "$$count" ]; then echo "the new fleet starts at the $$count instance(s) auto scaling chose"; fi; \
		terraform -chdir=$(TF_DIR) apply $$([ -t 1 ] || echo -no-color) $(TF_APPLY_ARGS) \
			$${count:+-var endpoint_current_instance_count=$$count}
	$(PY) -m mlops verify --terraform-dir $(TF_DIR)

# The tests whose run on the emulator the policies are derived from: the applied stack's.
# IAM_RECORDING=write adds what they record to the recording; replace starts it anew.
IAM_RECORDING ?= write
IAM_RECORDING_TESTS := tests/mlops/test_on_applied_stack.py tests/terraform/test_applied_iam.py \
	tests/terraform/test_apply.py tests/terraform/test_aws_rules.py tests/terraform/test_remote_state.py

iam-policies: $(VENV_STAMP) $(TF_CONFIG_DEP) ## Record the stack's AWS calls on the emulator and rebuild the deployer, planner and operator policies from them
	IAM_RECORDING=$(IAM_RECORDING) $(PY) -m pytest -n 0 -q $(IAM_RECORDING_TESTS)
	$(PY) -m iam_policies

# Side by side: the environments install from local wheels and the package index, the browser
# from Debian's; none needs another.
setup: ## Create the virtual environments (only when missing or requirements changed)
	@$(MAKE) --no-print-directory -j 4 $(VENV_STAMP) $(VENV_IAC_STAMP) $(TF_CONFIG_DEP) browser parity-envs

# The builder is standard library only: it needs no project environment.
parity-envs: ## The environments of the runtimes AWS runs the code on (terraform/runtimes.json), for tests/parity
	$(PYTHON) -m local_stack.parity build

browser: ## Install Debian's Chromium for the browser tests when it is missing (as root)
	@if command -v chromium >/dev/null || [ -n "$${CHROMIUM:-}" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else \
		echo "warning: the browser tests need Chromium: sudo apt-get install chromium, or CHROMIUM=/path/to/chromium"; \
	fi

lint: $(VENV_STAMP) ## Check Python style (ruff) and Terraform formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@if command -v terraform >/dev/null; then terraform fmt -check -recursive terraform; \
		else echo "terraform not on PATH: skipping terraform fmt -check"; fi

fmt: $(VENV_STAMP) ## Format Python and Terraform sources, refresh module README tables
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(PY) scripts/terraform_docs.py
	@if command -v terraform >/dev/null; then terraform fmt -recursive terraform; fi

test: setup lint ## Set up, lint, and run every test
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# The demo sets up only what it runs: the project's environment and Terraform's provider
# mirror; not the parity environments, the IaC scanner or the browser, which only the tests use.
demo: $(VENV_STAMP) $(TF_CONFIG_DEP) ## The whole pipeline against the emulator (DATA=path/to/dogImages, BACKBONE_WEIGHTS=file, FLOW=sagemaker trains as a SageMaker job and deploys from the registry, KEEP=1 serves the page, EMULATOR_PORT=0 its own emulator)
	$(PY) -m local_stack.demo $(if $(filter command line environment,$(origin DATA)),--data $(DATA)) $(if $(BACKBONE_WEIGHTS),--backbone-weights $(BACKBONE_WEIGHTS)) $(if $(FLOW),--flow $(FLOW)) $(if $(KEEP),--keep --ui-port $(UI_PORT)) $(if $(EMULATOR_PORT),--emulator-port $(EMULATOR_PORT))

local-stack: $(VENV_STAMP) $(TF_CONFIG_DEP) ## Apply terraform/ to the running emulator (make emulator) with terraform/emulator.tfvars; workspace and state in build/local-stack
	$(PY) -m local_stack.demo.stack apply --workspace $(LOCAL_STACK_DIR)

local-destroy: $(VENV_STAMP) $(TF_CONFIG_DEP) ## Destroy the local stack: the model registry's versions first, then terraform destroy
	$(PY) -m local_stack.demo.stack destroy --workspace $(LOCAL_STACK_DIR)

sample-data: $(VENV_STAMP) ## Generate a small learnable dataset in DATA (default build/sample)
	@test -d $(DATA) && echo "$(DATA) exists; keeping it" || $(PY) -m local_stack.demo.sample_data $(DATA) --classes 5 --per-class 20

train: $(VENV_STAMP) ## Train on DATA into MODEL_DIR (tiny defaults; override TRAIN_ARGS)
	@test -d $(DATA) || { echo "$(DATA) does not exist: make sample-data creates it (or pass DATA=path/to/dogImages)"; exit 2; }
	$(PY) -m ml.train --data-dir $(DATA) --model-dir $(MODEL_DIR) $(TRAIN_ARGS)

package: $(VENV_STAMP) ## Build MODEL (model.tar.gz) from MODEL_DIR
	$(PY) -m ml.package $(MODEL_DIR) $(MODEL)

package-lambda: $(TF_CONFIG_DEP) ## Build the Lambda zip (build/lambda.zip) reproducibly
	$(PYTHON) scripts/build_lambda_zip.py lambda $(BUILD)/lambda.zip

package-code: $(TF_CONFIG_DEP) ## Build the training code bundle (build/code.tar.gz) reproducibly
	$(PYTHON) scripts/build_code_bundle.py $(BUILD)/code.tar.gz

serve: $(VENV_STAMP) ## Serve MODEL on the SageMaker PyTorch serving stack at 127.0.0.1:PORT
	$(PY) -m local_stack.serving.endpoint $(MODEL) --port $(PORT)

ui: $(VENV_STAMP) ## The dog-photo page at 127.0.0.1:UI_PORT: MODEL through the Lambda handler, or API=deployed URL
	$(PY) -m local_stack.serving.page $(if $(API),--api $(API),$(MODEL)) --port $(UI_PORT)

emulator: $(VENV_STAMP) ## Run the embedded AWS emulator in the foreground on 127.0.0.1:4566 (EMULATOR_PORT=... another; LOCAL_MODE=0 records SageMaker jobs without running them)
	$(PY) -m local_stack.emulator $(if $(EMULATOR_PORT),--port $(EMULATOR_PORT)) $(if $(filter 0,$(LOCAL_MODE)),--no-local-mode)

clean: ## Remove build outputs, caches and virtual environments
	rm -rf $(BUILD) $(VENV) $(VENV_IAC) .venv-parity .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .terraform -type d -prune -exec rm -rf {} +
