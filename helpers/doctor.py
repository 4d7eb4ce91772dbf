"""The environment check every lesson starts with (and ``course-doctor`` / ``make doctor``).

>>> from helpers.doctor import report_environment
>>> report_environment()            # a few Korean lines; "!!" marks what to fix, with the command

Checks: Python, torch and torchvision versions (against the supported range, ``helpers.versions``), the
backbone the lesson will use and why, the Korean font for plots, the device, free disk space
where lessons write, and ``OMP_WAIT_POLICY``. Fast (no model is loaded, nothing is
downloaded) and it never raises: a check that itself fails is reported as a line.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from helpers.cli import course_command, display_path

MIN_FREE_GB = 2.0  # VGG16's weights alone are 0.5 GB; checkpoints and feature caches need room too


@dataclass
class Check:
    """One line of the report: ``ok`` or not, what was found, and the fix when not ok."""

    name: str
    ok: bool
    found: str
    fix: str = ""

    def line(self) -> str:
        mark = "OK" if self.ok else "!!"
        text = f"[{mark}] {self.name}: {self.found}"
        return text + (f"\n     고치는 법: {self.fix}" if self.fix and not self.ok else "")


def _pip_install(*args: str) -> str:
    return f"{display_path(sys.executable)} -m pip install {' '.join(args)}"


def check_versions() -> Check:
    """Python, torch and torchvision against the supported range (``helpers.versions``: from the
    oldest tested ``floor=`` version of ``requirements.txt`` up to its pin). Any package below
    its floor (numpy, pillow, ... too) is named, with the command that upgrades it."""
    from importlib.metadata import PackageNotFoundError, version  # not `import torchvision`: slow

    from helpers import versions

    found = {"torch": version("torch"), "torchvision": version("torchvision")}
    text = f"Python {platform.python_version()} · torch {found['torch']} · torchvision {found['torchvision']}"
    requirements = {r.name: r for r in versions.read()}
    if not requirements:
        return Check("버전", True, text + " (requirements.txt 없음: 지원 범위와 비교하지 않음)")
    too_old = []
    for requirement in requirements.values():
        try:
            have = found.get(requirement.name) or version(requirement.name)
        except PackageNotFoundError:
            continue  # a classroom tool (colab-skip) or an optional package: not this check's business
        if versions.version_key(have) < versions.version_key(requirement.oldest):
            too_old.append((requirement, have))
    if too_old:
        upgrade = " ".join(f'"{r.name}>={r.oldest}"' for r, _ in too_old)
        return Check("버전", False, text + " — 지원 범위보다 오래됨: "
                     + ", ".join(f"{r.name} {have} (최소 {r.oldest})" for r, have in too_old),
                     f"`{_pip_install('-U', upgrade)}` 후 커널을 다시 시작하세요 (과정 폴더의 .venv라면 "
                     f"`{_pip_install('-r', 'requirements.txt')}`)")
    torch_pair = [requirements[k] for k in found if k in requirements]
    if all(found[r.name].split("+")[0] == r.pin for r in torch_pair):
        return Check("버전", True, text + " (requirements.txt의 고정 버전과 같음)")
    newer = [r for r in torch_pair if versions.version_key(found[r.name]) > versions.version_key(r.pin)]
    if newer:
        return Check("버전", True, text + " (강의가 시험한 가장 새 버전 "
                     + ", ".join(f"{r.name} {r.pin}" for r in newer) + "보다 새 버전: 대부분 그대로 "
                     "돌아가지만, 문제가 생기면 강의 폴더에서 "
                     f"`{_pip_install('-r', 'requirements.txt')}`)")
    return Check("버전", True, text + " (지원 범위 "
                 + ", ".join(f"{r.name} {r.oldest}–{r.pin}" for r in torch_pair)
                 + " 안; 고정 버전과 숫자가 조금 다를 수 있음)")


# torchvision's file names for the seed's architectures (tests/test_doctor.py checks them), so
# the default report needs neither torchvision nor helpers.models
SEED_WEIGHT_FILES = {"resnet18": "resnet18-f37072fd.pth", "vgg16": "vgg16-397923af.pth"}


def _in_cache(filename: str) -> bool:
    import torch

    from helpers.paths import weights_dirs

    return any((folder / filename).is_file()
               for folder in (*weights_dirs(), Path(torch.hub.get_dir()) / "checkpoints"))


def check_backbone(arch: str) -> Check:
    if arch == "efficientnet_lite0":
        cached = [a for a, filename in SEED_WEIGHT_FILES.items() if _in_cache(filename)]
        extra = (f"; torchvision 가중치 캐시: {', '.join(cached)} 있음" if cached
                 else "; torchvision 가중치(resnet18, vgg16)는 캐시에 없음 — 필요할 때만 받으면 됩니다")
        return Check("백본", True, f"{arch} (강의 기본값: pip 패키지에 든 ImageNet 가중치, 네트워크를 "
                                   f"쓰지 않음){extra}")
    from helpers import weights
    from helpers.paths import weights_dir

    files = weights.cached_weights(arch)
    if files:
        return Check("백본", True, f"{arch} (캐시된 torchvision 가중치 {display_path(files[0])})")
    size = weights.torchvision_weights(arch).meta.get("_file_size")
    size_text = f"{size:.0f} MB" if size else "크기 모름"
    command = course_command("course-fetch-weights", arch)
    if weights.offline_forced():
        return Check("백본", False, f"{arch} 가중치가 캐시에 없고 COURSE_OFFLINE=1 이라 EfficientNet-Lite0로 "
                                    "대체됩니다", f"인터넷이 되는 컴퓨터에서 `{command}` 를 실행해 "
                                    f"{display_path(weights_dir())}/ 에 복사하거나, ARCH = "
                                    f'"{weights.DEFAULT_ARCH}" 로 두세요')
    return Check("백본", True, f"{arch}: 처음 불러올 때 내려받습니다({size_text}); 인터넷이 없으면 "
                               f"EfficientNet-Lite0로 대체됩니다. 미리 받으려면 `{command}`")


def check_korean_font() -> Check:
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is not None and spec.origin:
        fonts = list(Path(spec.origin).parent.rglob("NanumGothic*.ttf"))
        if fonts:
            return Check("한글 글꼴", True, "NanumGothic (koreanize-matplotlib)")
    from matplotlib import font_manager

    names = sorted({f.name for f in font_manager.fontManager.ttflist if "Nanum" in f.name})
    if names:
        return Check("한글 글꼴", True, f"{names[0]} (시스템 글꼴)")
    from helpers.versions import supported

    pinned = supported("koreanize-matplotlib")
    package = f"koreanize-matplotlib=={pinned[1]}" if pinned else "koreanize-matplotlib"
    return Check("한글 글꼴", False, "matplotlib이 찾을 수 있는 한글 글꼴이 없어 그림의 한글이 네모로 보입니다",
                 f"`{_pip_install(package)}` 후 커널을 다시 시작하세요")


def check_device() -> Check:
    import torch

    from helpers.device import get_device

    device = get_device()
    if device.type == "cuda":
        return Check("장치", True, f"cuda — {torch.cuda.get_device_name(0)} (모델과 데이터를 GPU로 보냅니다)")
    if device.type == "mps":
        return Check("장치", True, "mps — Apple GPU")
    if device.type != "cpu":  # another accelerator PyTorch reports (Intel xpu, …)
        return Check("장치", True, f"{device.type} (모델과 데이터를 이 장치로 보냅니다)")
    return Check("장치", True, f"cpu ({os.cpu_count()}코어; GPU가 없어도 모든 레슨이 CPU로 돌아갑니다)")


def check_disk() -> Check:
    from helpers.paths import output_dir

    folder = output_dir()
    free_gb = shutil.disk_usage(folder).free / 1e9
    where = display_path(folder)
    if free_gb >= MIN_FREE_GB:
        return Check("디스크", True, f"{where}/ 에 {free_gb:.1f} GB 남음")
    return Check("디스크", False, f"{where}/ 에 {free_gb:.1f} GB만 남음(최소 {MIN_FREE_GB:g} GB 권장)",
                 "필요 없는 파일을 지우거나, 여유 있는 디스크의 폴더를 쓰게 하세요: "
                 "`export COURSE_OUTPUT_DIR=/path/with/space` 후 커널 다시 시작")


def check_omp() -> Check:
    value = os.environ.get("OMP_WAIT_POLICY", "")
    if value.upper() == "PASSIVE":
        return Check("OMP_WAIT_POLICY", True, "PASSIVE (다른 프로그램과 CPU를 나눠 써도 느려지지 않음)")
    return Check("OMP_WAIT_POLICY", False, f"{value or '설정 안 됨'} — 다른 프로그램이 CPU를 쓰면 학습이 "
                 "몇 배 느려질 수 있습니다",
                 "레슨 첫 셀처럼 torch보다 helpers를 먼저 import 하거나, 커널을 시작하기 전에 "
                 "`export OMP_WAIT_POLICY=PASSIVE`")


def collect(arch: str = "efficientnet_lite0") -> list[Check]:
    """Run every check; a check that raises becomes a not-ok line saying so."""
    checks: list[tuple[str, Callable[[], Check]]] = [
        ("버전", check_versions), ("백본", lambda: check_backbone(arch)), ("한글 글꼴", check_korean_font),
        ("장치", check_device), ("디스크", check_disk), ("OMP_WAIT_POLICY", check_omp)]
    results = []
    for name, run in checks:
        try:
            results.append(run())
        except Exception as exc:  # never raise from the first cell of a lesson
            results.append(Check(name, False, f"점검하지 못했습니다({type(exc).__name__}: {exc})",
                                 f"강의 폴더에서 `{_pip_install('-r', 'requirements.txt')}`"))
    return results


def report_environment(arch: str = "efficientnet_lite0") -> None:
    """Print the environment report (Korean, a few lines); ``!!`` lines carry the exact fix."""
    try:
        _print(collect(arch))
    except Exception as exc:  # pragma: no cover - last resort: the lesson must go on
        print(f"환경 점검을 하지 못했습니다({type(exc).__name__}: {exc}); 레슨은 계속 진행해도 됩니다.")


def main(argv: Sequence[str] | None = None) -> int:
    """``course-doctor [--arch ARCH]``: exit 0 when everything is fine, 1 otherwise."""
    import argparse

    parser = argparse.ArgumentParser(prog="course-doctor", description="Check the course environment.")
    parser.add_argument("--arch", default="efficientnet_lite0", help="the backbone a lesson will ask for")
    args = parser.parse_args(argv)
    checks = collect(args.arch)
    _print(checks)
    return 0 if all(c.ok for c in checks) else 1


def _print(checks: list[Check]) -> None:
    bad = sum(not c.ok for c in checks)
    print("환경 점검: " + ("모두 정상" if not bad else f"{bad}개 항목을 확인하세요"))
    for check in checks:
        print(check.line())


if __name__ == "__main__":
    raise SystemExit(main())
