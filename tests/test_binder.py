"""The files repo2docker reads (Binder, JupyterHub images) agree with the Makefile set-up.

Same kernel (name, display name, how it is registered, its environment), same Korean font
package as .ci/run, the same single source of pinned versions, an executable postBuild.
Where ``jupyter-repo2docker`` is installed (.ci/run puts it in its own virtual environment and
sets ``REPO2DOCKER``), the Dockerfile it generates with ``--no-build`` (no Docker daemon needed)
is checked too.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _kernel_install(text: str) -> str:
    """The `ipykernel install` command in a file, continuation lines joined, variables left as is."""
    text = text.replace("\\\n", " ")
    lines = [line for line in text.splitlines() if "ipykernel install" in line and not line.lstrip().startswith("#")
             and "$(FLOOR_PY)" not in line]  # `make floor`'s kernel lives inside .venv-floor only (below)
    assert len(lines) == 1, lines
    return " ".join(lines[0].split())


def _makefile_vars() -> dict[str, str]:
    return dict(re.findall(r"^(\w+)\s*:?=\s*(.+)$", _read("Makefile"), re.M))


def test_floor_kernel_stays_inside_its_own_environment():
    text = _read("Makefile").replace("\\\n", " ")
    floor = [line for line in text.splitlines() if "ipykernel install" in line and "$(FLOOR_PY)" in line]
    assert len(floor) == 1 and "--sys-prefix" in floor[0] and "--user" not in floor[0], floor


def test_same_kernel_everywhere():
    variables = _makefile_vars()
    make = _kernel_install(_read("Makefile"))
    make = make.replace("$(KERNEL_DISPLAY)", variables["KERNEL_DISPLAY"]).replace("$(KERNEL)", variables["KERNEL"])
    make = make.replace("$(PY)", "python").replace(" $(LOG)", "")  # `make setup` logs each step's output
    post = _kernel_install(_read("postBuild"))
    assert make.split("ipykernel install")[1] == post.split("ipykernel install")[1]
    assert "--sys-prefix" in post and "--user" not in post
    assert '--name dl-course --display-name "Python (dl-course)"' in post
    assert "--env OMP_WAIT_POLICY PASSIVE" in post
    # the README's conda route registers it the same way
    readme = " ".join(_read("README.md").split())
    assert post.split("ipykernel install")[1] in readme
    assert "ipykernel install --user" not in readme + _read("environment.yml")


def test_same_font_packages_as_ci():
    apt = set(_read("apt.txt").split())
    ci = _read(".ci/run")
    packages = set(re.search(r"packages=\(([^)]*)\)", ci).group(1).split())
    assert "fonts-nanum" in apt and apt <= packages


def test_one_source_of_pinned_versions():
    env = _read("environment.yml")
    assert re.search(r"^\s*-\s*-r requirements\.txt\s*$", env, re.M)
    assert re.search(r"^\s*-\s*-e \.\s*$", env, re.M)
    assert "==" not in env  # no second set of pins
    assert re.search(r"(-m pip|\$\(PIP\)) install -r requirements\.txt", _read("Makefile"))
    assert '"python=3.11"' not in env and re.search(r"^\s*-\s*python=3\.\d+\s*$", env, re.M)


def test_postbuild_is_executable_and_defines_the_git_filter():
    post = ROOT / "postBuild"
    assert post.stat().st_mode & stat.S_IXUSR
    text = post.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    for key in ("filter.nbstripout.clean", "filter.nbstripout.smudge", "filter.nbstripout.required"):
        assert key in text and key in _read("Makefile")
    assert "--keep-id" in text


def _repo2docker() -> str | None:
    return os.environ.get("REPO2DOCKER") or shutil.which("jupyter-repo2docker")


@pytest.mark.skipif(_repo2docker() is None, reason="jupyter-repo2docker not installed (.ci/run installs it)")
def test_repo2docker_dockerfile(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("environment.yml", "requirements.txt", "apt.txt", "postBuild", "pyproject.toml"):
        shutil.copy2(ROOT / name, repo / name)
    done = subprocess.run([_repo2docker(), "--no-build", "--debug", str(repo)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    dockerfile = done.stdout + done.stderr
    apt_line = next(line for line in dockerfile.splitlines() if "apt-get install" in line and "fonts-nanum" in line)
    assert set(_read("apt.txt").split()) <= set(apt_line.split())
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "environment.yml"' in dockerfile
    # the whole repository is copied before the environment is built (pip reads requirements.txt, -e .)
    assert dockerfile.index("COPY --chown") < dockerfile.index('--file "environment.yml"')
    assert "RUN ./postBuild" in dockerfile
