import shutil
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import datasets

from helpers.errors import BadImageError, DataLayoutError
from helpers.data import denormalize, make_loaders, Preprocess
from helpers.images import check_layout, count_images, verify_images
from conftest import SMALL


def _image(path, colour=(200, 40, 30), mode="RGB", fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (40, 40), colour).save(path, format=fmt)
    return path


def _classes_per_split(loaders):
    return {split: loader.dataset.class_to_idx for split, loader in loaders.items()}


def test_loaders_give_batches_and_classes(image_tree):
    loaders, classes = make_loaders(image_tree, SMALL, batch_size=4)
    assert classes == ["blue", "red"]
    images, labels = next(iter(loaders["train"]))
    assert images.shape == (4, 3, 32, 32)
    assert labels.dtype == torch.int64
    assert len(loaders["val"].dataset) == 6 and len(loaders["test"].dataset) == 6


def test_same_files_and_order_as_torchvision_imagefolder(image_tree):
    """On a plain tree the course dataset is exactly torchvision's ImageFolder (lesson 01 relies on it)."""
    loaders, _ = make_loaders(image_tree, SMALL)
    for split in ("train", "val", "test"):
        assert loaders[split].dataset.samples == datasets.ImageFolder(str(image_tree / split)).samples


def test_augmentation_on_train_only(image_tree):
    loaders, _ = make_loaders(image_tree, SMALL, batch_size=4)
    train_ds, val_ds = loaders["train"].dataset, loaders["val"].dataset
    torch.manual_seed(0)
    a, b = train_ds[0][0], train_ds[0][0]
    assert not torch.equal(a, b), "train transform should be random"
    assert torch.equal(val_ds[0][0], val_ds[0][0]), "val transform must be deterministic"
    names = [type(t).__name__ for t in train_ds.transform.transforms]
    assert "RandomResizedCrop" in names and "RandomHorizontalFlip" in names
    assert "RandomResizedCrop" not in [type(t).__name__ for t in val_ds.transform.transforms]


def test_train_order_is_seeded(image_tree):
    first = [next(iter(make_loaders(image_tree, SMALL, batch_size=12, seed=s)[0]["train"]))[1].tolist()
             for s in (1, 1, 2)]
    assert first[0] == first[1]
    assert first[0] != first[2]


# ------------------------------------------------------- what is a class, what is an image


def test_jupyter_checkpoint_folder_is_not_a_class(image_tree):
    """Opening an image in Jupyter's file browser creates train/.ipynb_checkpoints: it must not shift labels."""
    _image(image_tree / "train" / ".ipynb_checkpoints" / "red_0-checkpoint.png")
    loaders, classes = make_loaders(image_tree, SMALL)
    assert classes == ["blue", "red"]
    maps = _classes_per_split(loaders)
    assert maps["train"] == maps["val"] == maps["test"] == {"blue": 0, "red": 1}
    assert len(loaders["train"].dataset) == 12


def test_os_junk_is_never_a_class_or_an_image(image_tree):
    _image(image_tree / "train" / "__MACOSX" / "red" / "._red_0.png")
    _image(image_tree / "val" / "red" / ".ipynb_checkpoints" / "red_0-checkpoint.png")
    _image(image_tree / "test" / "blue" / "._blue_0.png")                   # macOS resource fork
    (image_tree / "train" / "red" / "Thumbs.db").write_bytes(b"\x00" * 10)
    (image_tree / "train" / "blue" / "desktop.ini").write_text("[.ShellClassInfo]")
    (image_tree / "val" / "blue" / ".DS_Store").write_bytes(b"\x00\x00")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # hidden files are skipped silently, not warned about
        loaders, classes = make_loaders(image_tree, SMALL)
    assert classes == ["blue", "red"]
    assert count_images(image_tree) == {"train": {"blue": 6, "red": 6}, "val": {"blue": 3, "red": 3},
                                        "test": {"blue": 3, "red": 3}}
    assert [len(loaders[s].dataset) for s in ("train", "val", "test")] == [12, 6, 6]


def test_every_pillow_format_counts_and_loads(image_tree):
    """The layout check counts a .gif (and .tga, .ppm, ...): the dataset must load it, not drop it."""
    red = image_tree / "train" / "red"
    extra = [_image(red / "anim.gif", mode="P", colour=1), _image(red / "scan.TIF"), _image(red / "old.tga"),
             _image(red / "raw.ppm"), _image(red / "new.webp"), _image(red / "photo.jpeg")]
    counts = count_images(image_tree)
    loaders, _ = make_loaders(image_tree, SMALL)
    dataset = loaders["train"].dataset
    assert counts["train"]["red"] == 6 + len(extra) == sum(label == 1 for _, label in dataset.samples)
    loaded = {p for p, _ in dataset.samples}
    assert all(str(p) in loaded for p in extra)
    assert verify_images(image_tree) == 24 + len(extra)


def test_nested_folders_count_where_the_dataset_loads_them(image_tree):
    _image(image_tree / "train" / "red" / "more" / "extra.png")
    loaders, _ = make_loaders(image_tree, SMALL)
    assert count_images(image_tree)["train"]["red"] == 7 == sum(l == 1 for _, l in loaders["train"].dataset.samples)


def test_non_image_files_are_left_out_with_one_warning(image_tree):
    from helpers.images import IgnoredFilesWarning

    odd = [image_tree / "train" / "red" / "notes.txt", image_tree / "val" / "blue" / "labels.csv",
           image_tree / "test" / "red" / "IMG_0001.HEIC", image_tree / "train" / "README.md"]
    for path in odd:
        path.write_text("not an image")
    with pytest.warns(IgnoredFilesWarning) as record:
        loaders, _ = make_loaders(image_tree, SMALL)
    ours = [w for w in record if issubclass(w.category, IgnoredFilesWarning)]
    assert len(ours) == 1, "one warning listing every file, not one per file"
    message = str(ours[0].message)
    assert all(str(path) in message for path in odd)
    assert "JPEG" in message  # says what to do (HEIC: export as JPEG)
    assert [len(loaders[s].dataset) for s in ("train", "val", "test")] == [12, 6, 6]


def test_is_image_file_and_class_folders(tmp_path):
    from helpers.images import class_folders, image_files, is_image_file

    assert [is_image_file(n) for n in ("a.JPG", "b.gif", "c.tiff", "d.webp", "e.txt", "._f.jpg", "Thumbs.db")] \
        == [True, True, True, True, False, False, False]
    for name in ("cat", "dog", ".ipynb_checkpoints", "__MACOSX"):
        (tmp_path / name).mkdir()
    assert class_folders(tmp_path) == ["cat", "dog"]
    _image(tmp_path / "cat" / "b.png")
    _image(tmp_path / "cat" / "a.png")
    _image(tmp_path / "cat" / ".ipynb_checkpoints" / "a-checkpoint.png")
    assert [p.name for p in image_files(tmp_path / "cat")] == ["a.png", "b.png"]


# ------------------------------------------------------------ errors a student can act on


def test_errors_share_one_course_base_class():
    from helpers.errors import CourseError

    assert issubclass(DataLayoutError, CourseError) and issubclass(DataLayoutError, ValueError)
    assert issubclass(BadImageError, CourseError) and issubclass(BadImageError, OSError)


def test_corrupt_image_error_names_the_file(image_tree):
    bad = image_tree / "train" / "red" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff this is not really a jpeg")
    with pytest.raises(BadImageError) as info:
        make_loaders(image_tree, SMALL)
    assert str(bad) in str(info.value)
    assert "해결:" in str(info.value)


def test_truncated_image_fails_before_training(image_tree):
    good = next((image_tree / "val" / "blue").iterdir())
    cut = image_tree / "val" / "blue" / "cut.png"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(BadImageError, match="cut.png"):
        make_loaders(image_tree, SMALL)


def test_corrupt_image_error_without_upfront_check(image_tree):
    bad = image_tree / "val" / "blue" / "broken.png"
    bad.write_bytes(b"garbage")
    loaders, _ = make_loaders(image_tree, SMALL, verify=False)
    with pytest.raises(BadImageError, match="broken.png"):
        for _ in loaders["val"]:
            pass


def test_verify_images_lists_every_bad_file(image_tree):
    for name in ("a.jpg", "b.png"):
        (image_tree / "test" / "red" / name).write_bytes(b"nope")
    with pytest.raises(BadImageError) as info:
        verify_images(image_tree)
    assert "a.jpg" in str(info.value) and "b.png" in str(info.value)
    assert "2개" in str(info.value) and "해결:" in str(info.value)


def test_missing_split_is_named(image_tree):
    shutil.rmtree(image_tree / "val")
    with pytest.raises(DataLayoutError) as info:
        check_layout(image_tree)
    assert str(image_tree / "val") in str(info.value) and "없습니다" in str(info.value)
    assert f'mkdir "{image_tree / "val"}"' in str(info.value)


def test_images_directly_in_split_folder(image_tree):
    shutil.copy(next((image_tree / "train" / "red").iterdir()), image_tree / "train" / "loose.png")
    with pytest.raises(DataLayoutError) as info:
        check_layout(image_tree)
    assert "loose.png" in str(info.value) and "mkdir" in str(info.value) and "mv" in str(info.value)


def test_class_mismatch_between_splits_names_folders_and_classes(image_tree):
    (image_tree / "test" / "red").rename(image_tree / "test" / "green")
    with pytest.raises(DataLayoutError) as info:
        check_layout(image_tree)
    message = str(info.value)
    assert str(image_tree / "train") in message and str(image_tree / "test") in message
    assert "train에만: ['red']" in message and "test에만: ['green']" in message
    assert "해결:" in message


def test_empty_class_folder_is_named(image_tree):
    for path in (image_tree / "val" / "red").iterdir():
        path.unlink()
    (image_tree / "val" / "red" / "readme.txt").write_text("photos go here")
    with pytest.raises(DataLayoutError) as info:
        check_layout(image_tree)
    assert str(image_tree / "val" / "red") in str(info.value) and "readme.txt" in str(info.value)


def test_one_class_is_not_enough(image_tree):
    for split in ("train", "val", "test"):
        shutil.rmtree(image_tree / split / "blue")
    with pytest.raises(DataLayoutError, match="2개 이상"):
        check_layout(image_tree)


def test_count_images(image_tree):
    assert count_images(image_tree) == {"train": {"blue": 6, "red": 6}, "val": {"blue": 3, "red": 3},
                                        "test": {"blue": 3, "red": 3}}


# ---------------------------------------------------------------- bundled data, denormalize


def test_unknown_dataset_lists_the_bundled_ones():
    from helpers.data import dataset_dir

    assert (dataset_dir("animals") / "train").is_dir()
    with pytest.raises(DataLayoutError) as info:
        dataset_dir("aminals")
    assert "aminals" in str(info.value) and "animals" in str(info.value) and "해결:" in str(info.value)


def test_sample_image_path():
    from helpers.data import sample_image_path
    from helpers.images import load_image
    from helpers.paths import data_dir

    path = sample_image_path("chelsea")
    assert path == data_dir("samples", "chelsea.jpg")
    assert load_image(path).mode == "RGB"
    with pytest.raises(DataLayoutError, match="chelsea"):
        sample_image_path("no_such_photo")


def test_denormalize_inverts_normalize():
    pre = Preprocess(mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))
    original = torch.rand(3, 8, 8)
    normalised = (original - torch.tensor(pre.mean)[:, None, None]) / torch.tensor(pre.std)[:, None, None]
    back = denormalize(normalised, pre)
    assert back.shape == (8, 8, 3)
    assert np.abs(back - original.permute(1, 2, 0).numpy()).max() < 1e-6
    assert denormalize(torch.full((3, 2, 2), 100.0), pre).max() == 1.0  # clipped


def test_denormalize_refuses_mean_where_the_preprocess_belongs():
    """``denormalize(x, mean)`` fails loudly (Korean) instead of silently using other statistics."""
    pre = Preprocess(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    x = torch.zeros(3, 2, 2)
    with pytest.raises(TypeError, match="Preprocess"):
        denormalize(x, pre.mean)
    with pytest.raises(TypeError):
        denormalize(x)  # no default: the statistics must come from the backbone


def test_a_symlink_loop_is_walked_once_and_each_file_counted_once(image_tree):
    """A link that points back up (``ln -s .. loop``) used to be followed until the OS gave up:
    4 images loaded as 84. Now every folder and file is read once, and one warning says where."""
    import os

    from helpers.images import IgnoredFilesWarning

    red = image_tree / "train" / "red"
    os.symlink("..", red / "loop")                       # train/red/loop -> train/
    os.symlink(red / "red_0.png", red / "again.png")     # the same file twice
    with pytest.warns(IgnoredFilesWarning, match="한 번만") as record:
        loaders, _ = make_loaders(image_tree, SMALL)
    assert len(loaders["train"].dataset) == 12, "6 red + 6 blue, nothing counted twice"
    assert "loop" in str(record[0].message) and "again.png" in str(record[0].message)


def test_one_file_linked_into_two_splits_is_refused(image_tree):
    import os

    from helpers.errors import DataLayoutError

    os.symlink(image_tree / "train" / "red" / "red_0.png", image_tree / "test" / "red" / "leak.png")
    with pytest.raises(DataLayoutError, match="데이터 누수") as info:
        make_loaders(image_tree, SMALL)
    assert "leak.png" in str(info.value) and "red_0.png" in str(info.value)


def test_class_names_from_a_mac_and_from_windows_are_the_same_classes(image_tree):
    """macOS writes Korean folder names decomposed (NFD), other systems composed (NFC): they look the same
    and must be the same class with the same index in every split (before: "the classes differ")."""
    import unicodedata

    from helpers.images import class_folders
    from helpers.errors import DataLayoutError

    for split in ("train", "val", "test"):
        form = "NFD" if split == "test" else "NFC"
        for old, new in (("red", "빨강"), ("blue", "파랑")):
            (image_tree / split / old).rename(image_tree / split / unicodedata.normalize(form, new))
    loaders, classes = make_loaders(image_tree, SMALL)
    assert classes == ["빨강", "파랑"] and loaders["test"].dataset.classes == classes
    assert [unicodedata.is_normalized("NFC", c) for c in loaders["test"].dataset.classes] == [True, True]
    assert len(loaders["test"].dataset) == 6 and {l for _, l in loaders["test"].dataset.samples} == {0, 1}
    # the same name twice in one split, once in each form: refused, and the message says why
    (image_tree / "train" / unicodedata.normalize("NFD", "빨강")).mkdir()
    with pytest.raises(DataLayoutError, match="정규화"):
        class_folders(image_tree / "train")
