# Two commands on a fresh machine:
#   make lab    set everything up (first time only) and open the lessons in JupyterLab
#   make test   set everything up (first time only) and run every test and notebook
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
KERNEL := dl-course
STAMP  := $(VENV)/.installed

# PyTorch's OpenMP threads spin at every barrier by default. When anything else wants a
# core (a browser tab, a second notebook) a training step gets ~3x slower, and with several
# busy processes small tensor ops got 100x slower here. Sleeping waits (PASSIVE) cost ~20 %
# on a completely quiet 2-core machine and halve the time on a busy one: robust beats
# best-case for a class of laptops. `make bench` prints both side by side; override with
# `make lab OMP_WAIT_POLICY=ACTIVE`.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: setup lab test unit notebooks handouts bench clean

setup: $(STAMP)

# Re-runs when requirements.txt or pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))" \
		--env OMP_WAIT_POLICY PASSIVE
	@touch $@

# --allow-root only when run as root (containers, lab images); never needed otherwise.
lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Unit tests, then every notebook top to bottom (nbval: each cell must run without error;
# each lesson ends with a self-check cell that asserts its claims).
test: setup
	MPLBACKEND=Agg $(PY) -m pytest tests
	MPLBACKEND=Agg $(PY) -m pytest --nbval-lax --nbval-current-env --durations=0 notebooks

unit: setup
	MPLBACKEND=Agg $(PY) -m pytest tests

# Executed copies for printing / sharing: handouts/*.html (outputs never go into git).
handouts: setup
	mkdir -p handouts
	$(VENV)/bin/jupyter nbconvert --to html --execute --ExecutePreprocessor.kernel_name=$(KERNEL) \
		--ExecutePreprocessor.timeout=900 --output-dir handouts notebooks/*.ipynb

bench: setup
	$(PY) benchmarks/bench_omp_wait.py
	$(PY) benchmarks/bench_training.py

clean:
	rm -rf handouts notebooks/runs notebooks/checkpoints
