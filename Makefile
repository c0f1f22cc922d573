# The two commands: `make run` (the whole monthly routine against the sandbox,
# or production when configured) and `make test` (every check, as CI runs it).
# Both install what is missing first, idempotently, from Debian and PyPI only.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# gcc, libc6-dev and python3-dev build evdev (pynput's, under rpaframework), which PyPI has only as source
APT_PACKAGES := chromium dovecot-imapd dovecot-lmtpd fonts-dejavu-core openssl python3-venv gcc libc6-dev python3-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ROBOT := $(BIN)/robot --argumentfile robot/options.args
SUITES := robot
ROBOT_SOURCES := robot resources
DOCS := docs
# actionlint checks the scheduled workflow; the shell of its steps goes through
# the pinned shellcheck of the venv, never whichever one PATH offers (or none)
ACTIONLINT := $(BIN)/actionlint -shellcheck=$(BIN)/shellcheck -pyflakes=

.PHONY: help install system-packages run test lint unit dryrun acceptance benchmark docs clean

help:
	@echo "make run    the monthly routine (sandbox unless production settings are set)"
	@echo "make test   every check: robocop, ruff, actionlint, pytest, robot --dryrun, acceptance"
	@echo "make docs   keyword documentation (libdoc) of every library and resource into $(DOCS)/"

install: system-packages $(VENV)/.installed

system-packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages:" $$missing; \
		$(SUDO) apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The venv, with the project's top folder on its import path (a .pth file), and
# ROBOT_OPTIONS defaulting to robot/options.args (libraries/run_options.py) so
# that the plain `robot robot/monthly_invoice.robot` writes to results/ like
# `make run`, while `robot --dryrun …` leaves results/ alone.
$(VENV)/.installed: requirements.txt constraints.txt libraries/run_options.py
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	site=$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	printf '%s\n%s\n' "$(CURDIR)" "import libraries.run_options" > "$$site/mts_robot.pth"
	touch $@

run: install
	$(ROBOT) $(SUITES)

test: install lint unit dryrun acceptance

lint: $(VENV)/.installed
	$(BIN)/robocop check $(ROBOT_SOURCES)
	$(BIN)/robocop format --check $(ROBOT_SOURCES)
	$(BIN)/ruff check libraries sandbox variables tests .ci/ledger-state
	$(ACTIONLINT) .github/workflows/monthly.yml
	$(BIN)/shellcheck .ci/run

unit: $(VENV)/.installed
	$(BIN)/pytest -q tests/unit

dryrun: $(VENV)/.installed
	ROBOT_OPTIONS= $(BIN)/robot --dryrun --rpa --pythonpath . --output NONE --log NONE --report NONE $(SUITES)

acceptance: install
	$(BIN)/pytest -q tests/acceptance

benchmark: install
	$(BIN)/python -m tests.benchmark

# libdoc HTML of every @library class in libraries/ and every resources/*.resource
# (libraries/keyword_docs.py finds them), with docs/index.html linking them
docs: $(VENV)/.installed
	rm -rf $(DOCS)
	$(BIN)/python -m libraries.keyword_docs $(DOCS)

clean:
	rm -rf results/* $(DOCS) $(VENV)
	touch results/.gitkeep
