# Spyglass: the commands a developer and CI run; `make help` lists them all.
#
#   make test      everything CI checks: system tools, lint, types, all tests
#   make run       start the window
#   make sample    rewrite resources/sample-layout
#   make bench     time Spyglass against skopeo
#   make wheel     build the wheel to install elsewhere, in dist/
#
# Python packages go into .venv (re-installed when pyproject.toml changes; the
# whole .venv made again when its Python is older than 3.11 or gone, or it has no pip);
# system tools (the registry server, skopeo, umoci, Xvfb, Qt's libraries, and
# zsh and fish, whose completion is tested) come from Debian's packages when
# run as root, see `system-deps`.

SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

STAMP_INSTALL := $(VENV)/.stamp-install
STAMP_TEST := $(VENV)/.stamp-install-test

LINT_PATHS := app tests benchmarks resources
PYTEST_ARGS ?=
BENCH_ARGS ?=

# Debian's packages the tests and the window need. Debian names the registry
# server's binary `docker-registry`; upstream (and other distributions) `registry`.
# zsh and fish run the completion scripts' tests (bash is always there).
# WINDOW_PACKAGES are the libraries Qt's window needs on a desktop (make run): the
# list the installed `spyglass` checks before it opens the window, kept in
# app/spyglass/cli/window_libraries.py (which runs as a script, on the standard library).
WINDOW_LIBRARIES := app/spyglass/cli/window_libraries.py
WINDOW_PACKAGES := $(shell $(PYTHON) $(WINDOW_LIBRARIES) 2>/dev/null)
SYSTEM_PACKAGES := python3-venv docker-registry skopeo umoci xvfb xauth zsh fish $(WINDOW_PACKAGES) \
	gnupg openssl gnome-keyring dbus-daemon dbus-bin x11-utils desktop-file-utils libglib2.0-bin

.PHONY: help venv install install-test system-deps window-deps run lint typecheck test sample bench wheel \
	clean distclean FORCE

# --------------------------------------------------------------------------- Python

PYTHON_OK := import sys; sys.exit(sys.version_info < (3, 11))

# A .venv that another Python made is made again rather than reused broken: one
# older than 3.11 (pip refuses Spyglass there, on every later run too), one
# whose interpreter is gone (a pyenv version removed, the system's Python
# upgraded), or one without pip (left by a venv that failed halfway, as
# Debian's does without python3-venv). Asked of .venv's own python, once per make.
VENV_BROKEN := $(if $(wildcard $(VENV)/pyvenv.cfg $(PY)),$(shell \
	{ $(PY) -c '$(PYTHON_OK)' && $(PY) -c 'import pip'; } >/dev/null 2>&1 || echo yes))
REMAKE := $(if $(VENV_BROKEN),FORCE)

# `python3 -m venv` needs ensurepip, which Debian and Ubuntu keep apart in
# python3.X-venv (python3-venv for the default python3): as root with apt-get it
# is installed first, otherwise named. A venv that fails halfway is removed.
$(PY): $(REMAKE)
	@$(PYTHON) -c '$(PYTHON_OK)' 2>/dev/null || { \
		echo "make: $(PYTHON) is $$(command -v $(PYTHON) >/dev/null && $(PYTHON) -V 2>&1 || echo 'not found'); Spyglass needs Python 3.11 or newer: make $(or $(MAKECMDGOALS),test) PYTHON=python3.11 (or another 3.11+)" >&2; \
		exit 1; }
	@$(PYTHON) -c 'import ensurepip' >/dev/null 2>&1 || { \
		pkg=$$($(PYTHON) -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])'); \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "make: $(PYTHON) has no ensurepip, which making $(VENV) needs; installing $$pkg"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends $$pkg || { echo "make: apt-get failed to install $$pkg" >&2; exit 1; }; \
		else \
			echo "make: $(PYTHON) cannot make $(VENV): its ensurepip module is missing, which Debian and Ubuntu keep in $$pkg (python3-venv for the default python3): sudo apt-get install $$pkg, then make $(or $(MAKECMDGOALS),test) again" >&2; \
			exit 1; \
		fi; }
ifneq ($(VENV_BROKEN),)
	@echo "make: $(VENV) was made by a Python that is older than 3.11 or no longer there, or has no pip; making it again with $(PYTHON)"
	rm -rf $(VENV)
endif
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(PY) -m pip install --quiet --upgrade pip

venv: $(PY) ## make .venv with python3 (PYTHON=python3.12 for another; distclean first to change it)

$(STAMP_INSTALL): pyproject.toml $(REMAKE) | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml $(REMAKE) | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_INSTALL)

install: $(STAMP_INSTALL) ## install Spyglass into .venv, editable (.venv/bin/spyglass)

install-test: $(STAMP_TEST) ## install it with what the tests, ruff and mypy need

FORCE:

# --------------------------------------------------------------------------- system tools

# As root with apt-get: install whatever of SYSTEM_PACKAGES is missing. A
# temporary policy-rc.d (where none exists) keeps the docker-registry package
# from starting its service on :5000, and under systemd a registry service
# installed here is disabled again: the tests start registries of their own.
# Otherwise: say what is missing and go on; the tests that need it skip,
# naming it. window-deps is the same for WINDOW_PACKAGES alone.
system-deps: DEPS := $(SYSTEM_PACKAGES)
window-deps: DEPS := $(WINDOW_PACKAGES)
window-deps: ## install the libraries the window needs (as root with apt), or say what is missing
system-deps: ## install Debian's registry, skopeo, umoci, Xvfb, zsh, fish and the window's libraries (as root), or say what is missing
system-deps window-deps:
	@if [ -z "$(WINDOW_PACKAGES)" ]; then \
		echo "$@: $(PYTHON) $(WINDOW_LIBRARIES) did not list the window's libraries: is $(PYTHON) installed?" >&2; \
		exit 1; \
	fi; \
	missing_cmds=""; \
	if [ $@ = system-deps ]; then \
		command -v registry >/dev/null 2>&1 || command -v docker-registry >/dev/null 2>&1 \
			|| missing_cmds="$$missing_cmds docker-registry"; \
		for cmd in skopeo umoci xvfb-run zsh fish; do \
			command -v $$cmd >/dev/null 2>&1 || missing_cmds="$$missing_cmds $$cmd"; \
		done; \
	fi; \
	missing_pkgs=""; \
	if command -v dpkg-query >/dev/null 2>&1; then \
		for pkg in $(DEPS); do \
			[ "$$(dpkg-query -W -f='$${db:Status-Status}' $$pkg 2>/dev/null)" = installed ] \
				|| missing_pkgs="$$missing_pkgs $$pkg"; \
		done; \
	fi; \
	if [ -z "$$missing_cmds$$missing_pkgs" ]; then \
		if command -v dpkg-query >/dev/null 2>&1; then echo "$@: all present"; \
		elif [ $@ = system-deps ]; then \
			echo "$@: the commands are present (no dpkg-query to look for the libraries)"; \
		else echo "$@: no dpkg-query to look for the libraries; not checked"; fi; \
		exit 0; \
	fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "$@: installing$$missing_pkgs"; \
		made_policy=""; \
		if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
			chmod 755 /usr/sbin/policy-rc.d; made_policy=1; \
		fi; \
		status=0; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$${missing_pkgs:-$(DEPS)} || status=$$?; \
		[ -z "$$made_policy" ] || rm -f /usr/sbin/policy-rc.d; \
		case " $$missing_pkgs " in *" docker-registry "*) \
			if [ -n "$$made_policy" ] && [ -d /run/systemd/system ]; then \
				systemctl disable --now docker-registry.service >/dev/null 2>&1 || true; \
			fi;; \
		esac; \
		[ $$status = 0 ] || echo "$@: apt-get failed ($$status)" >&2; \
		exit $$status; \
	fi; \
	echo "$@: missing:$$missing_cmds$$missing_pkgs"; \
	if [ $@ = system-deps ]; then \
		echo "$@: not root with apt-get, so not installing them; the tests that need them skip."; \
	else \
		echo "$@: not root with apt-get, so not installing them; the window may not start without them."; \
	fi; \
	echo "$@: on Debian, as root: apt-get install --no-install-recommends $(DEPS)"

# --------------------------------------------------------------------------- everyday

run: install window-deps ## start the window on the sample layout (your own copy of the bundled one), with the places open last time
	sample="$$($(BIN)/python -m spyglass.gui.sample)"; $(BIN)/spyglass $${sample:+"$$sample"}

lint: install-test ## ruff over app, tests, benchmarks and resources
	$(BIN)/ruff check $(LINT_PATHS)

typecheck: install-test ## mypy --strict over app
	$(BIN)/mypy

test: system-deps install-test lint typecheck ## all CI checks: lint, types, every test (PYTEST_ARGS=…)
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest $(PYTEST_ARGS)

sample: install ## rewrite resources/sample-layout from resources/make_sample_layout.py
	$(PY) resources/make_sample_layout.py

bench: install-test system-deps ## time Spyglass against skopeo (BENCH_ARGS=…; see benchmarks/README.md)
	@if [ -f benchmarks/run_all.py ]; then \
		$(PY) benchmarks/run_all.py $(BENCH_ARGS); \
	elif ls benchmarks/bench_*.py >/dev/null 2>&1; then \
		for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script $(BENCH_ARGS) || exit $$?; done; \
	else \
		echo "bench: no benchmarks/run_all.py or benchmarks/bench_*.py yet"; \
	fi

# The wheel carries the bundled sample layout and icon (setup.py); install it with
# pip or pipx elsewhere. packaging/ holds the desktop entry and icon for a desktop.
# pip builds in the tree, and setuptools only adds to what an earlier build left in
# build/: a module removed or a sample blob `make sample` dropped would go into the
# wheel still. setup.py clears the built package before each build (so plain
# `pip install .` and `pip wheel .` are safe too); removing build/ here is a second guard.
wheel: $(PY) ## build dist/spyglass-VERSION-py3-none-any.whl, to install elsewhere
	rm -rf build app/*.egg-info
	$(PY) -m pip wheel --quiet --no-deps $(WHEEL_FLAGS) --wheel-dir dist .
	rm -rf build app/*.egg-info
	@ls -1 dist/*.whl

help: ## list these targets
	@echo "make TARGET, in $(CURDIR) (make alone is make test):"
	@sed -n 's/^\([a-z-]*\):.*## \(.*\)$$/\1\t\2/p' $(MAKEFILE_LIST) | \
		awk -F'\t' '{ printf "  %-13s %s\n", $$1, $$2 }'

clean: ## remove build output and caches, keeping .venv
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache app/*.egg-info
	find app tests benchmarks resources -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## remove .venv too
	rm -rf $(VENV)
