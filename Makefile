# Two commands from a fresh clone: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# constraints.txt pins the whole dependency set that is tested together (fakesnow moves with its
# own duckdb and sqlglot pins, and needs snowflake-connector-python below 5).
INSTALLED := $(VENV)/.installed

.PHONY: install browser demo test bench lint typecheck clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,dev]'
	touch $@

demo: install
	@start=$$(date +%s); \
	$(BIN)/mesh demo-data && \
	$(BIN)/mesh build && \
	echo && echo "Demo built in $$(( $$(date +%s) - start ))s. Try:" && \
	echo "  $(BIN)/mesh catalog list" && \
	echo "  $(BIN)/mesh query --role risk_analyst \"select * from risk.credit_risk_scorecard.credit_risk_scorecard limit 5\"" && \
	echo "  $(BIN)/mesh query \"select * from consumer_banking.consumer_demographics.consumer_demographics limit 5\"   # no role: masked" && \
	echo "  $(BIN)/mesh shell --role risk_analyst                        # interactive SQL" && \
	echo "  $(BIN)/mesh serve                                             # the marketplace on http://127.0.0.1:8000/" && \
	echo "  catalog/catalog.json, catalog/site/index.html, warehouse/*.duckdb"

# The marketplace's page tests run in Debian's chromium (Playwright drives the system browser; it
# never downloads one). Installed here when missing and we may (root); otherwise they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "WARNING: could not install chromium: the browser tests will be skipped"; \
	  else echo "chromium not installed: the browser tests will be skipped (apt-get install chromium)"; fi; }

test: install browser
	$(BIN)/pytest

# Every performance figure as a ratio to a baseline of the same run; writes bench/RESULTS.md.
bench: install
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

clean:
	rm -rf .bench-cache warehouse catalog data domains/*/target domains/*/dbt_packages target dbt_packages
