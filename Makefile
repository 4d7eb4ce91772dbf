# Two commands on a fresh machine (on the student branch, only what its files allow: see `test`):
#   make lab    set everything up (first time only) and open the lessons in JupyterLab
#   make test   set everything up (first time only) and run every test, lesson and edition
#   make test LESSONS=05   the same for one lesson (or LESSONS="04 05"): its runs, editions, unit tests
# Others: make doctor (environment check), make handouts (student/instructor editions),
#         make notebooks (every lesson, both editions, checked cell by cell as nbval does),
#         make bench (speed and memory per lesson), make gpu-path (every lesson on a stand-in GPU).
#         make student (the branch students get), make grade LESSON=05 SUBMISSIONS=dir (grade them).
#         V=1 (make setup V=1, make lab V=1): pip's own output on screen instead of .venv/setup.log.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
KERNEL := dl-course
KERNEL_DISPLAY := Python (dl-course)
STAMP  := $(VENV)/.installed
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
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

# How the tests run. Lessons run under the network guard (classroom/netguard: any non-loopback
# connection fails loudly and is logged; tests/test_lessons.py fails on an attempt). pytest uses
# both cores (pytest-xdist: one worker per core, so PyTorch gets one thread in each; two lessons
# side by side beat one lesson on two threads). Every kernel logs the cells it runs
# (tests/kernel_log.py) and tests/test_run_count.py counts the lesson executions from that log.
# LESSONS=05 (or LESSONS="04 05"): those lessons' runs and editions only, with the unit tests
# of the helpers they use.
LESSONS ?=
WORKERS ?= 2
TEST_ENV := MPLBACKEND=Agg OMP_NUM_THREADS=1 COURSE_LESSONS="$(LESSONS)" \
	COURSE_KERNEL_LOG=$(CURDIR)/outputs/kernel_cells.jsonl
# --dist load: no test relies on running beside another (xdist 3.8's `xdist_group` has no effect under
# pytest 9; tests/test_run_count.py refuses it): a costly shared result is one test with subtests.
# --maxschedchunk 1: tests handed out one or two at a time, slowest first (tests/conftest.py), so the
# two workers finish together; the default sends each a quarter of the list at once.
PYTEST_N := $(PY) -m pytest -n $(WORKERS) --dist load --maxschedchunk 1
# Not on the one-lesson path: tests of the whole course's plumbing, no lesson's content.
WHOLE_COURSE := --ignore=tests/test_browser.py --ignore=tests/test_binder.py --ignore=tests/test_fakegpu.py \
	--ignore=tests/test_saved_lesson.py
RENDER := MPLBACKEND=Agg $(PY) scripts/handouts.py $(if $(LESSONS),--lessons $(LESSONS))

.PHONY: setup git-filter lab test unit gpu-path notebooks handouts doctor bench claims clean student grade hub hub-bench

setup: $(STAMP) $(LAB_SETTINGS) git-filter

# Re-runs when requirements.txt or pyproject.toml change. The kernel is registered inside the
# environment (--sys-prefix), the same way in every route (conda, Binder/JupyterHub postBuild).
# One line per step with what it costs; each step's output goes to $(SETUP_LOG), whose end is shown
# when a step fails. V=1: the output on screen instead.
SETUP_LOG := $(VENV)/setup.log
PIP := $(PY) -m pip $(if $(filter 1,$(V)),,-q)
LOG := $(if $(filter 1,$(V)),,>>$(SETUP_LOG) 2>&1 || { tail -n 30 $(SETUP_LOG); \
	echo "설치 실패. 전체 기록: $(SETUP_LOG) (자세히 보려면: make setup V=1)"; exit 1; })
$(STAMP): requirements.txt pyproject.toml
	@echo "[1/5] 가상 환경 $(VENV) 만들기 (수 초)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@: > $(SETUP_LOG)
	@echo "[2/5] pip 새 버전으로 (약 2 MB, 수 초)"
	@$(PIP) install --upgrade pip $(LOG)
	@echo "[3/5] torch, torchvision, JupyterLab 등 requirements.txt의 패키지 (처음에는 약 3.2 GB 내려받기, 5-15분;" \
		"pip 캐시에 있으면 1-2분; 설치 후 .venv 약 6.3 GB)"
	@$(if $(TORCH_INDEX),$(PIP) install --index-url $(TORCH_INDEX) \
		$$(grep -oE '^torch(vision)?==[^ ]+' requirements.txt) $(LOG))
	@$(PIP) install -r requirements.txt $(LOG)
	@echo "[4/5] 과정 패키지 helpers 연결 (pip install -e ., 수 초)"
	@$(PIP) install --no-deps -e . $(LOG)
	@echo "[5/5] 커널 \"$(KERNEL_DISPLAY)\" 등록 (수 초)"
	@$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "$(KERNEL_DISPLAY)" \
		--env OMP_WAIT_POLICY PASSIVE $(LOG)
	@echo "설치 완료 (기록: $(SETUP_LOG))"
	@touch $@

# JupyterLab's settings for every user of this environment: no news pop-up over the first lesson and no
# update check (both would fetch from the internet). overrides.json in the environment's
# share/jupyter/lab/settings is where JupyterLab 4 reads defaults that its own settings editor can still change.
$(LAB_SETTINGS): | $(STAMP)
	@mkdir -p $(@D)
	@echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $@

# Outputs never enter git: .gitattributes names the nbstripout filter, this defines it for
# this clone (cell ids kept). Besides outputs and counts, nbstripout strips by default widget state
# (metadata.widgets), cell execution timings (cell.metadata.execution, ExecuteTime), collapsed and
# scrolled; NB_EXTRA_KEYS adds what JupyterLab, Notebook 7, VS Code and Colab rewrite on save, so a
# saved lesson shows no change (tests/test_saved_lesson.py saves one through a running JupyterLab).
# postBuild (Binder, hubs) sets the same keys. Skipped outside a git clone.
NB_EXTRA_KEYS := metadata.language_info metadata.vscode metadata.colab metadata.accelerator \
	cell.metadata.jupyter cell.metadata.vscode cell.metadata.colab cell.metadata.executionInfo cell.metadata.outputId
git-filter:
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
		git config filter.nbstripout.extrakeys '$(NB_EXTRA_KEYS)' && \
		git config filter.nbstripout.clean '"$(abspath $(PY))" -m nbstripout --keep-id' && \
		git config filter.nbstripout.smudge cat && \
		git config filter.nbstripout.required true && \
		git config diff.ipynb.textconv '"$(abspath $(PY))" -m nbstripout -t --keep-id'; \
	fi

# --allow-root only when run as root (containers, lab images); never needed otherwise.
lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# On the student branch (scripts/student_branch.py) only some of these files exist: each step runs
# where its files are (there: the helpers' unit tests and tests/test_lessons.py, the students' lesson runs).
EDITIONS := $(wildcard scripts/handouts.py)
# 1. in one pytest on both cores: unit tests, the stand-in GPU's own checks, the browser test, and
#    each lesson executed twice (tests/test_lessons.py), checked cell by cell as nbval does, under
#    the network guard: the instructor edition on the stand-in GPU (self-check, every exercise
#    check passes, backward pass on the device, then the mutation tests in the same kernel) and
#    the student edition on the CPU (every exercise check says "아직 풀지 않음")
# 2. both editions rendered from those runs (HTML, PDF) and the home page; nothing re-executed
# 3. tests over the built editions (no solutions, Korean fonts, formulas, no CDN, no paths) and
#    the count of lesson executions (at most two per lesson)
test: setup
	@mkdir -p outputs && rm -f outputs/kernel_cells.jsonl
	$(TEST_ENV) $(PYTEST_N) --durations=15 tests --ignore=tests/test_hub.py $(if $(LESSONS),$(WHOLE_COURSE)) --deselect tests/test_handouts.py::test_built \
		--deselect tests/test_run_count.py::test_no_lesson_executed_more_than_twice
	$(if $(EDITIONS),$(RENDER))
	$(if $(EDITIONS),$(TEST_ENV) COURSE_REQUIRE_HANDOUTS=1 $(PY) -m pytest -p no:xdist tests/test_handouts.py \
		tests/test_run_count.py -k "built or no_lesson_executed_more_than_twice")

unit: setup
	MPLBACKEND=Agg OMP_NUM_THREADS=1 $(PYTEST_N) tests --ignore=tests/test_hub.py --deselect tests/test_handouts.py::test_built \
		--deselect tests/test_lessons.py::test_instructor_edition --deselect tests/test_lessons.py::test_student_edition

# The GPU student's path without a GPU: the stand-in device of tests/fakegpu, checked, then every
# lesson on it (the instructor editions; also part of `make test`).
gpu-path: setup
	$(TEST_ENV) $(PYTEST_N) tests/test_fakegpu.py tests/test_lessons.py -k "stand_in or instructor"

# Every lesson top to bottom, both editions, checked cell by cell as nbval checks (outputs not
# compared, any error fails and names the lesson and the cell); LESSONS="04 05" for some.
notebooks: setup
	$(TEST_ENV) $(PYTEST_N) tests/test_lessons.py

# handouts/index.html + student and instructor editions (HTML, PDF); LESSONS="04 05" for some.
# The editions are the lesson runs of `make notebooks`, rendered.
handouts: notebooks
	$(RENDER)

# The oldest supported versions, tested (README "Supported versions"): a second environment,
# .venv-floor, with every `floor=` version of requirements.txt (torch 2.6 / torchvision 0.21 and
# the core packages at the versions Colab shipped in early 2025; helpers/versions.py reads the
# marks), its kernel registered inside it only (--sys-prefix): named "dl-course" as the lessons ask,
# so a lesson, nbval or a test that starts that kernel gets the floor's Python there, shown as
# "Python (dl-course) floor"; .venv's kernel is never replaced (Jupyter from .venv never looks in
# .venv-floor). Then the unit tests and every lesson there, under the network guard. Outside `make test`; .ci/run runs both. pip's cache is shared with .venv.
# Not run here: tests of the classroom tools (browser, handouts, Binder files, grading, the student
# branch: instructor-side, on the pinned .venv) and the lesson runs of `make test` (the stand-in GPU,
# both editions): here every lesson runs once, with its solutions, under nbval.
FLOOR_VENV  := .venv-floor
FLOOR_PY    := $(FLOOR_VENV)/bin/python
FLOOR_STAMP := $(FLOOR_VENV)/.installed
FLOOR_SKIP  := --ignore=tests/test_hub.py --ignore=tests/test_browser.py --ignore=tests/test_saved_lesson.py --ignore=tests/test_handouts.py --ignore=tests/test_binder.py \
	--ignore=tests/test_grading.py --ignore=tests/test_student_branch.py \
	--ignore=tests/test_fakegpu.py --ignore=tests/test_lessons.py --ignore=tests/test_run_count.py

.PHONY: floor
floor: $(FLOOR_STAMP)
	@mkdir -p outputs && rm -f outputs/netguard-floor.log
	$(FLOOR_VENV)/bin/course-doctor
	MPLBACKEND=Agg OMP_NUM_THREADS=1 $(FLOOR_PY) -m pytest -n $(or $(WORKERS),2) --dist load tests $(FLOOR_SKIP)
	MPLBACKEND=Agg OMP_NUM_THREADS=1 PYTHONPATH=$(CURDIR)/classroom/netguard \
		COURSE_NETGUARD_LOG=$(CURDIR)/outputs/netguard-floor.log \
		$(FLOOR_PY) -m pytest -n $(or $(WORKERS),2) --dist loadfile --nbval-lax --nbval-current-env --durations=0 notebooks
	@if [ -s outputs/netguard-floor.log ]; then echo "lessons tried to reach the network:"; \
		cat outputs/netguard-floor.log; exit 1; fi

$(FLOOR_STAMP): requirements.txt pyproject.toml helpers/versions.py
	@test -x $(FLOOR_PY) || $(PYTHON) -m venv $(FLOOR_VENV)
	$(PYTHON) helpers/versions.py floor > $(FLOOR_VENV)/requirements.txt
	$(FLOOR_PY) -m pip install -r $(FLOOR_VENV)/requirements.txt
	$(FLOOR_PY) -m pip install --no-deps -e .
	$(FLOOR_PY) -m ipykernel install --sys-prefix --name $(KERNEL) \
		--display-name "$(KERNEL_DISPLAY) floor" --env OMP_WAIT_POLICY PASSIVE
	@touch $@

doctor: setup
	$(VENV)/bin/course-doctor

# The student version of the course as the git branch `student` (solution cells removed, instructor files
# left out, its own README), which every route serves (nbgitpuller, Binder, Colab). The address students
# clone goes into the lessons' first cells and the README: REPO_URL=..., else the `origin` remote; without
# one nothing is built. Rebuild after a lesson changes, then publish it to the repository students clone
# (README "From handing out to the grade table"). (scripts/student_branch.py)
student: setup
	$(PY) scripts/student_branch.py $(if $(REPO_URL),--repo-url '$(REPO_URL)')

# Grade a folder of submitted notebooks (one per student, <학번>_<이름>.ipynb) of one lesson, in
# sandboxes: make grade LESSON=05 SUBMISSIONS=submissions/05 -> outputs/grades/05/ (CSV, HTML, feedback)
grade: setup
	@test -n "$(LESSON)" -a -n "$(SUBMISSIONS)" || { echo "사용법: make grade LESSON=05 SUBMISSIONS=<제출 폴더>"; exit 2; }
	$(VENV)/bin/course-grade $(LESSON) $(SUBMISSIONS) $(GRADE_ARGS)

# A class on a real JupyterHub (tests/test_hub.py, outside `make test`; .ci/run runs it): JupyterHub and
# nbgitpuller into .venv (requirements-hub.txt), configurable-http-proxy from npm into .hub/ (needs
# Node.js: sudo apt-get install nodejs npm), then two students pull, run, edit, update and hand in.
hub: setup
	@command -v npm >/dev/null || { echo "make hub에는 Node.js가 필요합니다: sudo apt-get install nodejs npm"; exit 2; }
	$(PIP) install -r requirements-hub.txt
	@test -x .hub/node_modules/.bin/configurable-http-proxy || npm install --prefix .hub --no-audit --no-fund configurable-http-proxy@5.3.0
	MPLBACKEND=Agg $(PY) -m pytest -p no:xdist -v tests/test_hub.py

# How many students one machine holds (benchmarks/bench_hub.py, about 30 minutes on 2 cores; not a test):
# N = 1, 2, 4, 8, 16 students run a lesson at once on a real hub; writes outputs/bench/hub.md.
hub-bench: hub
	MPLBACKEND=Agg $(PY) benchmarks/bench_hub.py $(HUB_BENCH_ARGS)

bench: setup
	$(PY) benchmarks/run_all.py

# The claims sweep (outside `make test`, about 2 hours on 2 cores): every lesson at seeds 0-9 with
# one thread and with PyTorch's default thread count, and at seeds 0-2 on the floor torch; writes the
# committed table benchmarks/claims_sweep.md (each asserted claim's smallest margin per setting).
claims: setup $(FLOOR_STAMP)
	$(PY) benchmarks/claims_sweep.py $(if $(LESSONS),--lessons $(LESSONS))

clean:
	rm -rf handouts outputs/screenshots
