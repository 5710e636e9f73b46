# The two commands a new user needs: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUILD := build

.PHONY: setup module demo test bench clean

setup: $(STAMP) module

$(STAMP): python/pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	[ -x $(PY) ] || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q -e 'python[test]'
	@# Debian's GNU Radio bindings must import from the venv, on NumPy 1.x
	$(PY) -c "import numpy; from gnuradio import gr; assert numpy.__version__ < '2', numpy.__version__; print('GNU Radio', gr.version(), 'NumPy', numpy.__version__)"
	touch $@

# The GNU Radio module (gnuradio.semcom + GRC YAML), installed into the venv; cheap when unchanged.
module: $(STAMP)
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(CURDIR)/$(VENV) -DPYTHON_EXECUTABLE=$(CURDIR)/$(PY) >/dev/null
	cmake --build $(BUILD) --target install >/dev/null

demo: setup
	$(VENV)/bin/semcom demo --out demo-out
	$(PY) flowgraphs/loopback_demo.py --out demo-out/loopback

test: setup
	$(VENV)/bin/pytest -q

bench: setup
	$(VENV)/bin/semcom bench --batch 64
	$(PY) gr-semcom/apps/radio_bench.py --out runs/bench --soak 10000

clean:
	rm -rf $(VENV) $(BUILD) demo-out .pytest_cache
