# Two commands on a fresh machine:
#   make run   installs what the platform needs, migrates, creates the demo tenant, starts web + worker
#   make test  installs what the tests need (pip + Debian packages) and runs lint, checks and the suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages the platform uses: ffmpeg/ffprobe (media), LibreOffice + poppler (PPT pages), a CJK font,
# and the shared libraries the OpenCV wheel loads (libGL, GLib).
RUN_APT_PACKAGES := ffmpeg libreoffice-impress poppler-utils fonts-noto-cjk libgl1 libglib2.0-0
# Debian packages the test suite adds: a real browser, Redis and PostgreSQL servers.
TEST_APT_PACKAGES := chromium redis-server postgresql

.PHONY: run test install install-dev apt-run apt-test lint checks migrate demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(VENV)/.runtime $@

install: apt-run $(VENV)/.runtime
install-dev: $(VENV)/.dev

migrate: install
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py bootstrap_demo

run: demo
	$(BIN)/python manage.py runplatform --host $(HOST) --port $(PORT)

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(2) $$missing >/dev/null; \
	fi
endef

apt-run:
	$(call apt_install,$(RUN_APT_PACKAGES),--no-install-recommends)

apt-test: apt-run
	$(call apt_install,$(TEST_APT_PACKAGES),)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

checks: install-dev
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

test: install-dev apt-test lint checks
	$(BIN)/pytest
