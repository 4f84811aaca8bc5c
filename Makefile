# hookd — two entry points: `make demo` and `make test` (both run as root on Debian).
VENV     ?= .venv
PYTHON   ?= python3
PY       := $(VENV)/bin/python
# Debian packages the labs and tests drive for real (binary -> package).
APT_BINS := keepalived:keepalived nginx:nginx ip:iproute2 ping:iputils-ping tcpdump:tcpdump pkill:procps
PYTEST_ARGS ?=

.PHONY: demo test lint system-deps venv clean install

demo: system-deps venv
	$(VENV)/bin/hookd lab

test: system-deps venv lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check hookd tests bench

# Install only what is missing; never start the services (policy-rc.d refuses them).
system-deps:
	@missing=""; for pair in $(APT_BINS); do \
	  bin=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$bin >/dev/null 2>&1 || [ -x /usr/sbin/$$bin ] || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  created=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; rc=$$?; \
	  [ -n "$$created" ] && rm -f /usr/sbin/policy-rc.d; \
	  exit $$rc; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

# Install on a host: a private venv in /opt/hookd, the `hookd` command, the shipped hooks
# and the systemd unit (not enabled: read config/hookd.service first).
PREFIX      ?= /usr/local
OPT         ?= /opt/hookd
SYSTEMD_DIR ?= /etc/systemd/system
STATE_DIR   ?= /var/lib/hookd
install:
	test -x $(OPT)/bin/python || $(PYTHON) -m venv $(OPT)
	$(OPT)/bin/pip install -q .
	install -d $(PREFIX)/bin
	ln -sf $(OPT)/bin/hookd $(PREFIX)/bin/hookd
	install -d $(PREFIX)/lib/hookd/hooks
	install -m 0755 hooks/check-nginx hooks/check-peer hooks/nginx-reload $(PREFIX)/lib/hookd/hooks/
	install -D -m 0644 config/hookd.service $(SYSTEMD_DIR)/hookd.service
	install -d -m 0700 $(STATE_DIR)
