"""Where data is read from and outputs are written: environment variables, not the install or the cwd."""
import pytest

from helpers import paths
from helpers.paths import data_dir, output_dir


@pytest.fixture
def no_course_env(monkeypatch):
    for name in ("COURSE_DATA_DIR", "COURSE_OUTPUT_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)


def _dataset(root, name="animals"):
    for split in ("train", "val", "test"):
        (root / name / split).mkdir(parents=True)
    return root / name


def test_course_data_dir_moves_dataset_dir(tmp_path, monkeypatch):
    from helpers.data import dataset_dir

    moved = _dataset(tmp_path / "elsewhere")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "elsewhere"))
    assert data_dir() == tmp_path / "elsewhere"
    assert dataset_dir("animals") == moved


def test_course_data_dir_moves_the_samples(tmp_path, monkeypatch):
    from PIL import Image

    from helpers.data import sample_image_path

    (tmp_path / "samples").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "samples" / "mine.jpg")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert sample_image_path("mine") == tmp_path / "samples" / "mine.jpg"


def test_course_data_dir_that_does_not_exist_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "typo"))
    with pytest.raises(FileNotFoundError) as info:
        data_dir("animals")
    message = str(info.value)
    assert str(tmp_path / "typo") in message and "COURSE_DATA_DIR" in message and "해결:" in message


def test_no_data_anywhere_says_which_variable_to_set(tmp_path, monkeypatch, no_course_env):
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path / "site-packages")  # a non-editable install
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        data_dir()
    assert "export COURSE_DATA_DIR=" in str(info.value) and "데이터 폴더" in str(info.value)


def test_data_found_beside_the_notebook_without_editable_install(tmp_path, monkeypatch, no_course_env):
    """helpers installed into site-packages, lesson opened from <course>/notebooks: ../data is found."""
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path / "site-packages")
    _dataset(tmp_path / "course" / "data")
    (tmp_path / "course" / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "course" / "notebooks")
    assert data_dir("animals") == tmp_path / "course" / "data" / "animals"


def test_course_output_dir_moves_every_output(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    path = output_dir("checkpoints", "02")
    assert path == tmp_path / "out" / "checkpoints" / "02" and path.is_dir()


def test_default_output_dir_is_inside_the_course_folder(tmp_path, monkeypatch, no_course_env):
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)
    monkeypatch.chdir(tmp_path)
    assert output_dir("runs") == tmp_path / "outputs" / "runs"
    assert (tmp_path / "outputs" / "runs").is_dir()


def test_each_student_copy_gets_its_own_outputs(tmp_path, monkeypatch, no_course_env):
    """A hub: helpers installed once (writable by the server's user), each student's clone in their
    home. Found by benchmarks/bench_hub.py: two students' lesson 02 wrote one checkpoint file."""
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path / "shared-install")
    for student in ("alice", "bob"):
        course = tmp_path / student / "dl-course"
        _dataset(course / "data")
        (course / "notebooks").mkdir()
        for cwd in (course, course / "notebooks"):   # a terminal in the course, a lesson's kernel
            monkeypatch.chdir(cwd)
            assert paths.course_folder() == course
            assert output_dir("checkpoints") == course / "outputs" / "checkpoints"
            assert data_dir("animals") == course / "data" / "animals"
    assert not (tmp_path / "shared-install").exists()


def test_read_only_course_folder_writes_to_the_user_cache(tmp_path, monkeypatch, no_course_env):
    """A hub image: course folder read-only, home writable."""
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path / "readonly")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(paths, "_writable", lambda folder: False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert output_dir("checkpoints") == tmp_path / "cache" / "dl-course" / "checkpoints"
    assert not (tmp_path / "readonly").exists()


def test_unusable_output_dir_says_what_to_set(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "a_file" / "out"))
    with pytest.raises(PermissionError) as info:
        output_dir("checkpoints")
    assert "COURSE_OUTPUT_DIR" in str(info.value) and str(tmp_path / "a_file") in str(info.value)


def test_output_dir_can_only_compute(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    assert output_dir("logs", create=False) == tmp_path / "out" / "logs"
    assert not (tmp_path / "out").exists()
