# Two commands do all the set-up on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
BIN := $(VENV)/bin

.PHONY: install run simulate-call test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# Development-only Twilio credentials, so `hotline simulate-call` can talk to `make run` on this machine.
# Written once, mode 0600; replace them (or set the variables) to receive real Twilio webhooks.
.env:
	@umask 077 && { \
	  echo "# Development only: written by make run. Real deployments set their own Twilio credentials."; \
	  echo "HOTLINE_TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000"; \
	  echo "HOTLINE_TWILIO_AUTH_TOKEN=dev-$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(16))')"; \
	  echo "HOTLINE_TWILIO_MEDIA_HOSTS=api.twilio.com,127.0.0.1:8790"; \
	} > .env && echo "Wrote .env with development-only Twilio credentials."

run: install .env
	$(BIN)/hotline keys init --if-missing
	$(BIN)/hotline db upgrade
	$(BIN)/hotline serve --host $(HOST) --port $(PORT)

simulate-call: install .env
	$(BIN)/hotline simulate-call

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/crypto_store.py
	$(BIN)/python bench/call_load.py
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/reports.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
