"""helpers.doctor: the Korean environment report, its exit code, and that it never raises."""
from pathlib import Path

import torch
from torchvision import models

from helpers import doctor


def test_report_is_korean_compact_and_names_every_item(capsys):
    doctor.report_environment()
    out = capsys.readouterr().out
    for needle in ("Python", "torch", "torchvision", "efficientnet_lite0", "한글 글꼴", "장치", "디스크",
                   "OMP_WAIT_POLICY"):
        assert needle in out, needle
    assert len(out.splitlines()) <= 14
    from helpers.paths import PROJECT_ROOT

    assert str(PROJECT_ROOT) not in out and str(Path.home()) not in out  # handouts carry no machine path


def test_something_off_gets_a_fix_and_exit_1(monkeypatch, capsys):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setattr(doctor, "MIN_FREE_GB", 1e9)  # no disk is that big
    assert doctor.main([]) == 1
    out = capsys.readouterr().out
    assert "[!!] OMP_WAIT_POLICY" in out and "export OMP_WAIT_POLICY=PASSIVE" in out
    assert "[!!] 디스크" in out and "COURSE_OUTPUT_DIR" in out
    assert "2개 항목을 확인하세요" in out


def test_all_fine_exits_0(monkeypatch, capsys):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    monkeypatch.setattr(doctor, "MIN_FREE_GB", 0)
    monkeypatch.setattr(doctor, "check_versions", lambda: doctor.Check("버전", True, "ok"))
    monkeypatch.setattr(doctor, "check_korean_font", lambda: doctor.Check("한글 글꼴", True, "ok"))
    assert doctor.main([]) == 0
    assert "모두 정상" in capsys.readouterr().out


def test_version_below_the_floor_names_the_floor_and_the_command(monkeypatch, tmp_path):
    from helpers import versions

    req = tmp_path / "requirements.txt"
    req.write_text("torch==99.0.0  # floor=98.0.0 colab-skip\ntorchvision==0.29.1\n")
    monkeypatch.setattr(versions, "REQUIREMENTS", req)
    check = doctor.check_versions()
    assert not check.ok and "최소 98.0.0" in check.found
    assert '"torch>=98.0.0"' in check.fix and "pip install -r requirements.txt" in check.fix
    # older than the pin but not than the floor: supported, so not a line to fix
    req.write_text(f"torch==99.0.0  # floor={torch.__version__.split('+')[0]}\ntorchvision==0.29.1  # floor=0.1\n")
    check = doctor.check_versions()
    assert check.ok and "지원 범위" in check.found


def test_a_failing_check_is_reported_not_raised(monkeypatch, capsys):
    def boom():
        raise RuntimeError("font cache unreadable")

    monkeypatch.setattr(doctor, "check_korean_font", boom)
    doctor.report_environment()
    assert "font cache unreadable" in capsys.readouterr().out


def test_switched_arch_offline_without_weights_says_what_happens(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    check = doctor.check_backbone("vgg16")
    assert not check.ok and "EfficientNet-Lite0" in check.found and "course-fetch-weights vgg16" in check.fix
    (tmp_path / doctor.SEED_WEIGHT_FILES["vgg16"]).write_bytes(b"x")
    assert doctor.check_backbone("vgg16").ok
    assert "vgg16 있음" in doctor.check_backbone("efficientnet_lite0").found


def test_seed_weight_names_agree_with_torchvision():
    for arch, filename in doctor.SEED_WEIGHT_FILES.items():
        assert models.get_model_weights(arch).DEFAULT.url.endswith("/" + filename)
