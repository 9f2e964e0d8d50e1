# Two commands on a fresh machine with only python3: `make test` and `make demo`.
# Everything else (the virtualenv, Python packages, Debian tools) is installed on demand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: test docs demo lint typecheck fuzz soak bench bench-quick system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One environment for everything: the tests also run the benchmark suite's quick mode once,
# which imports the peers it compares against (the `bench` extra), and build the docs (`docs`).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,bench,dev-tools,docs]"
	touch $@

# Debian tools the tests and benchmarks drive: a real browser, a load generator, Apache's
# htpasswd (the auth tests read files written by the real tool), and lighttpd (the CGI and
# FastCGI recipes run behind it; it lives in /usr/sbin), curl (a real client for compression),
# and Apache with Debian's mod_wsgi (the mod_wsgi recipe; its app runs in a venv of Debian's
# own python3, which needs python3-venv).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v htpasswd >/dev/null || missing="$$missing apache2-utils"; \
	command -v lighttpd >/dev/null || test -x /usr/sbin/lighttpd || missing="$$missing lighttpd"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v apache2 >/dev/null || test -x /usr/sbin/apache2 || missing="$$missing apache2"; \
	test -f /usr/lib/apache2/modules/mod_wsgi.so || missing="$$missing libapache2-mod-wsgi-py3"; \
	/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# The tests run after the docs build and the linters: CI (which runs `make test`) holds the
# code to all three.
test: $(VENV)/.installed system-deps docs lint
	$(BIN)/python -m pytest

# The user guide and the API reference (autodoc), into docs/_build/html. Any warning fails the
# build (and so `make test`): a broken link, a docstring autodoc cannot read. -E rereads every
# page each time, so a warning of an earlier run is never hidden by its cache.
docs: $(VENV)/.installed
	$(BIN)/sphinx-build -W --keep-going -E -q -b html docs docs/_build/html

lint: $(VENV)/.installed typecheck
	$(BIN)/ruff check .

# mypy --strict over the package (configured in pyproject.toml: [tool.mypy]).
typecheck: $(VENV)/.installed
	$(BIN)/mypy

demo: $(VENV)/.installed
	$(BIN)/python -m middleware serve recipes/demo/demo.ini --host $(HOST) --port $(PORT)

fuzz: $(VENV)/.installed
	HYPOTHESIS_PROFILE=deep $(BIN)/python -m pytest tests/adversarial

soak: $(VENV)/.installed system-deps
	$(BIN)/python -m benchmarks.soak

# Compares with benchmarks/results/baseline.json; `$(BIN)/python -m benchmarks --save` updates it.
bench: $(VENV)/.installed system-deps
	$(BIN)/python -m benchmarks

bench-quick: $(VENV)/.installed system-deps
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis .mypy_cache docs/_build
