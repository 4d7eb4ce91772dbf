# Two commands on a fresh machine:
#   make lab    set everything up (first time only) and open the lessons in JupyterLab
#   make test   set everything up (first time only) and run every test, lesson and edition
# Others: make doctor (environment check), make handouts (student/instructor editions),
#         make notebooks (nbval, one test per cell), make bench (speed and memory per lesson),
#         make gpu-path (every lesson on a stand-in GPU).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
KERNEL := dl-course
KERNEL_DISPLAY := Python (dl-course)
STAMP  := $(VENV)/.installed
# Optional: the same pinned torch/torchvision from another wheel index, e.g. PyTorch's CPU-only
# one on Linux (~0.5 GB instead of ~4 GB of CUDA libraries):
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=

# PyTorch's OpenMP threads spin at every barrier by default. When anything else wants a
# core (a browser tab, a second notebook) a training step gets several times slower.
# Sleeping waits (PASSIVE) cost a little on a completely quiet machine and are much faster
# on a busy one: robust beats best-case for a class of laptops. `make bench` measures it;
# override with `make lab OMP_WAIT_POLICY=ACTIVE`. (helpers/__init__.py sets the same default.)
export OMP_WAIT_POLICY ?= PASSIVE

# Lessons run under the network guard in tests: any non-loopback connection fails loudly.
# The path is absolute: kernels start in notebooks/. Attempts are also logged, and `make test`
# fails if the log is not empty.
NETGUARD := PYTHONPATH=$(CURDIR)/tests/netguard COURSE_NETGUARD_LOG=$(CURDIR)/outputs/netguard.log

.PHONY: setup git-filter lab test unit gpu-path notebooks handouts doctor bench clean

setup: $(STAMP) git-filter

# Re-runs when requirements.txt or pyproject.toml change. The kernel is registered inside the
# environment (--sys-prefix), the same way in every route (conda, Binder/JupyterHub postBuild).
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(if $(TORCH_INDEX),$(PY) -m pip install --index-url $(TORCH_INDEX) \
		$$(grep -oE '^torch(vision)?==[^ ]+' requirements.txt))
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "$(KERNEL_DISPLAY)" \
		--env OMP_WAIT_POLICY PASSIVE
	@touch $@

# Outputs never enter git: .gitattributes names the nbstripout filter, this defines it for
# this clone (cell ids kept, so a saved lesson shows no diff). Skipped outside a git clone.
git-filter:
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
		git config filter.nbstripout.clean '"$(abspath $(PY))" -m nbstripout --keep-id' && \
		git config filter.nbstripout.smudge cat && \
		git config filter.nbstripout.required true && \
		git config diff.ipynb.textconv '"$(abspath $(PY))" -m nbstripout -t --keep-id'; \
	fi

# --allow-root only when run as root (containers, lab images); never needed otherwise.
lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# 1. unit tests, the browser test, file agreement (fast; handout tests wait for step 3)
# 2. every lesson top to bottom under nbval, as a student runs it, under the network guard
# 3. both editions of every lesson: every exercise check passes with the solutions and reports
#    "아직 풀지 않음" without them; HTML and PDF
# 4. tests over the built editions (no solutions, Korean fonts, formulas, no CDN, no paths)
test: setup
	@mkdir -p outputs && rm -f outputs/netguard.log
	MPLBACKEND=Agg $(PY) -m pytest tests --deselect tests/test_handouts.py::test_built
	MPLBACKEND=Agg $(NETGUARD) $(PY) -m pytest --nbval-lax --nbval-current-env --durations=0 notebooks
	MPLBACKEND=Agg $(NETGUARD) $(PY) scripts/handouts.py
	@if [ -s outputs/netguard.log ]; then echo "lessons tried to reach the network:"; cat outputs/netguard.log; exit 1; fi
	MPLBACKEND=Agg COURSE_REQUIRE_HANDOUTS=1 $(PY) -m pytest tests/test_handouts.py

unit: setup
	MPLBACKEND=Agg $(PY) -m pytest tests --deselect tests/test_handouts.py::test_built

# The GPU student's path without a GPU: the stand-in device of tests/fakegpu, checked, then every
# lesson on it (also part of `make unit` / `make test`).
gpu-path: setup
	MPLBACKEND=Agg $(PY) -m pytest tests/test_fakegpu.py

# Every lesson top to bottom under nbval (one pytest item per cell).
notebooks: setup
	MPLBACKEND=Agg $(NETGUARD) $(PY) -m pytest --nbval-lax --nbval-current-env --durations=0 notebooks

# handouts/index.html + student and instructor editions (HTML, PDF); LESSONS="04 05" for some.
handouts: setup
	MPLBACKEND=Agg $(NETGUARD) $(PY) scripts/handouts.py $(if $(LESSONS),--lessons $(LESSONS))

doctor: setup
	$(VENV)/bin/course-doctor

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf handouts outputs/screenshots
