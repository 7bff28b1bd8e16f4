# pawlite: `make train export` reproduces the study and ships a TFLite model; `make test` checks it.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

DATA_URL ?= https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip
BASE_WEIGHTS ?= imagenet
ARTIFACTS ?= artifacts
EPOCHS ?= 20
SEED ?= 1337
SEEDS ?=
COLLAPSE_RETRIES ?= 2
MODELS ?= 1,2,3,4,5
QUANTIZATION ?= int8
# The Keras model export converts, by name in $(ARTIFACTS) (model4, model5); empty: the best
# validated MobileNetV2-based one there (metrics.json), see export/choose.py.
MODEL ?=
PYTEST_ARGS ?=
LAMBDA_OUT ?= build/lambda
MEDIAPIPE_VENV ?= .venv-mediapipe
BASE_VENV ?= .venv-base
BENCH_ARGS ?=
# make deploy / undeploy: the stack's name, the photo bucket, and the template's other
# parameters as PARAMS='MemorySize=1769 ReservedConcurrency=10' (docs/serverless.md).
STACK ?=
BUCKET ?=
ARCH ?= arm64
REGION ?=
CODE_BUCKET ?=
CREATE_BUCKET ?=
PARAMS ?=

export PAWLITE_DATA_URL := $(DATA_URL)
export PAWLITE_BASE_WEIGHTS := $(BASE_WEIGHTS)
export TF_CPP_MIN_LOG_LEVEL ?= 2

STAMP := $(VENV)/.stamp-install

.PHONY: assess bench pi-check install train export parity bundle test test-all test-base lint clean help lambda lambda-check deploy undeploy

help:
	@echo "make install   create $(VENV) and install pawlite with its train and dev extras"
	@echo "make train     reproduce the four-model study into $(ARTIFACTS)/, then model5 (beyond it)"
	@echo "make assess    model5's recipe on every image of the split, each scored by a head that never saw it"
	@echo "make export    convert MODEL (default: model4 and model5 of the run) to $(QUANTIZATION) TFLite, run the parity gate, decide the bundle"
	@echo "make parity    re-run the parity gate on the exported model (exit 3: the gate failed)"
	@echo "make bundle    copy into edge/models/ model4's int8 export, or one better beyond chance on images no choice saw"
	@echo "make test      fast tests, plus real-data tests when DATA_URL/BASE_WEIGHTS are usable"
	@echo "make test-all  also the slow tests"
	@echo "make test-base edge's tests in $(BASE_VENV), the base install a device has (no TensorFlow)"
	@echo "make lint      ruff, and cfn-lint on the AWS template (deploy/aws/template.yaml)"
	@echo "make bench     edge-classify vs Keras, a naive loop and MediaPipe against its goals; a quiet run's table into docs/bench.md"
	@echo "make pi-check  install the wheel in an emulated arm64 Raspberry Pi OS root and compare with the host (root)"
	@echo "make lambda    build the AWS Lambda deployment zips (x86_64, arm64) into $(LAMBDA_OUT)"
	@echo "make lambda-check  run the handler from the unpacked zip against a local S3 server"
	@echo "make deploy STACK=name BUCKET=photos  build the zip and deploy deploy/aws/template.yaml to AWS"
	@echo "make undeploy STACK=name  remove that stack (the bucket, photos and results stay)"
	@echo "make train MODELS=5 ARTIFACTS=dir   add model5 (a linear head on the frozen base, beyond the study) to the run in dir"
	@echo "variables: DATA_URL BASE_WEIGHTS ARTIFACTS EPOCHS SEED SEEDS COLLAPSE_RETRIES MODELS MODEL QUANTIZATION"

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[train,dev]'
	@touch $@

train: $(STAMP)
	$(PY) -m train --data-url '$(DATA_URL)' --base-weights '$(BASE_WEIGHTS)' --out '$(ARTIFACTS)' \
		--epochs $(EPOCHS) --seed $(SEED) --models '$(MODELS)' \
		--collapse-retries $(COLLAPSE_RETRIES) $(if $(SEEDS),--seeds '$(SEEDS)')

EXPORT_PATHS = $(if $(MODEL),--model '$(ARTIFACTS)/$(MODEL).keras') \
	--split '$(ARTIFACTS)/split.json' --out '$(ARTIFACTS)'

# model5's recipe scored on every image of the run's split by a head that never saw it
# (train/assess.py): a tighter interval than the 192 test images give. About 7 minutes.
assess: $(STAMP)
	$(PY) -m train.assess --split '$(ARTIFACTS)/split.json' --base-weights '$(BASE_WEIGHTS)' \
		--out '$(ARTIFACTS)'

# Without MODEL: every MobileNetV2-based model the run trained (model4, model5), then the bundle
# decision into $(ARTIFACTS)/bundle/ (make bundle ships it into edge/models/).
EXPORT_MODELS = $(or $(MODEL),$(basename $(notdir $(wildcard $(ARTIFACTS)/model4.keras $(ARTIFACTS)/model5.keras))))

export: $(STAMP)
	@test -n "$(EXPORT_MODELS)" || { echo "error: no model4.keras or model5.keras in $(ARTIFACTS)/: run make train first (or set ARTIFACTS)" >&2; exit 1; }
	@for m in $(EXPORT_MODELS); do \
		$(PY) -m export --model '$(ARTIFACTS)/'$$m.keras --split '$(ARTIFACTS)/split.json' \
			--out '$(ARTIFACTS)' --quantization $(QUANTIZATION) || exit $$?; \
	done
	$(if $(MODEL),,$(PY) -m export bundle --artifacts '$(ARTIFACTS)' --dest '$(ARTIFACTS)/bundle')

parity: $(STAMP)
	$(PY) -m export parity $(EXPORT_PATHS) --quantization $(QUANTIZATION)

# Ship model4's exported int8 model, or another that passed its parity gate and is better
# beyond chance on images that chose nothing for either (export/bundle.py), with its report and
# pictures, as edge's bundled default model.
bundle: $(STAMP)
	$(PY) -m export bundle --artifacts '$(ARTIFACTS)' --dest edge/models

test: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# What a device installs (`pip install .`, no extras: no TensorFlow, no boto3) plus pytest:
# edge's tests and the README's runnable examples pass there, and the few that need
# TensorFlow or boto3 skip and say so.
BASE_STAMP := $(BASE_VENV)/.stamp-install
$(BASE_STAMP): pyproject.toml
	@test -x $(BASE_VENV)/bin/python || $(PYTHON) -m venv $(BASE_VENV)
	$(BASE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BASE_VENV)/bin/python -m pip install --quiet . pytest
	@touch $@

test-base: $(BASE_STAMP)
	$(BASE_VENV)/bin/python -m pytest -q tests/test_edge_*.py tests/test_serverless*.py \
		tests/test_readme_commands.py tests/test_readme_rules.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check train export edge tests scripts
	$(VENV)/bin/cfn-lint deploy/aws/template.yaml

lambda: $(STAMP)
	$(PY) scripts/build_lambda.py --out '$(LAMBDA_OUT)'

lambda-check: $(STAMP)
	$(PY) scripts/check_lambda_zip.py --aws-deps '$(LAMBDA_OUT)/aws-runtime'

# Checked (parameters, credentials, region, bucket) before the zip is built and anything created.
DEPLOY_OPTS = --stack '$(STACK)' --bucket '$(BUCKET)' --arch '$(ARCH)' --zip-dir '$(LAMBDA_OUT)' \
	$(if $(REGION),--region '$(REGION)') $(if $(CODE_BUCKET),--code-bucket '$(CODE_BUCKET)') \
	$(if $(CREATE_BUCKET),--create-bucket) $(foreach p,$(PARAMS),--param '$(p)')

deploy: $(STAMP)
	@$(PY) scripts/aws_stack.py check $(DEPLOY_OPTS)
	$(PY) scripts/build_lambda.py --out '$(LAMBDA_OUT)' --arch '$(ARCH)'
	$(PY) scripts/aws_stack.py deploy $(DEPLOY_OPTS)

undeploy: $(STAMP)
	$(PY) scripts/aws_stack.py undeploy --stack '$(STACK)' $(if $(REGION),--region '$(REGION)')

bench: $(STAMP)
	@test -x $(MEDIAPIPE_VENV)/bin/python || { $(PYTHON) -m venv $(MEDIAPIPE_VENV) && \
		$(MEDIAPIPE_VENV)/bin/pip install --quiet mediapipe; } || \
		echo "mediapipe is not installable here: row (d) will say 'not installed'"
	PAWLITE_MEDIAPIPE_PYTHON=$(MEDIAPIPE_VENV)/bin/python $(PY) -m scripts.bench --out '$(ARTIFACTS)/bench' \
		--write-doc $(BENCH_ARGS)

pi-check: $(STAMP)
	PYTHON=$(PY) scripts/pi_check.sh $(if $(PI_MODEL),--model '$(PI_MODEL)') \
		$(if $(filter file://%,$(DATA_URL)),--data-zip '$(patsubst file://%,%,$(DATA_URL))')

clean:
	rm -rf '$(ARTIFACTS)' build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
