import shutil

import pytest
import torch

from helpers.data import (BadImageError, DataLayoutError, Preprocess, check_layout, count_images,
                          denormalize, make_loaders, verify_images)

SMALL = Preprocess(resize=36, crop=32)


def test_loaders_give_batches_and_classes(image_tree):
    loaders, classes = make_loaders(image_tree, SMALL, batch_size=4)
    assert classes == ["blue", "red"]
    images, labels = next(iter(loaders["train"]))
    assert images.shape == (4, 3, 32, 32)
    assert labels.dtype == torch.int64
    assert len(loaders["val"].dataset) == 6 and len(loaders["test"].dataset) == 6


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


def test_corrupt_image_error_names_the_file(image_tree):
    bad = image_tree / "train" / "red" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff this is not really a jpeg")
    with pytest.raises(BadImageError) as info:
        make_loaders(image_tree, SMALL)
    assert str(bad) in str(info.value)
    assert "Fix" in str(info.value)


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


def test_missing_split_is_named(image_tree):
    shutil.rmtree(image_tree / "val")
    with pytest.raises(DataLayoutError, match=r"val.*missing split folder"):
        check_layout(image_tree)


def test_images_directly_in_split_folder(image_tree):
    shutil.copy(next((image_tree / "train" / "red").iterdir()), image_tree / "train" / "loose.png")
    with pytest.raises(DataLayoutError, match="one sub-folder per class"):
        check_layout(image_tree)


def test_class_mismatch_between_splits(image_tree):
    (image_tree / "test" / "red").rename(image_tree / "test" / "green")
    with pytest.raises(DataLayoutError, match="same class folders"):
        check_layout(image_tree)


def test_count_images(image_tree):
    assert count_images(image_tree) == {"train": {"blue": 6, "red": 6}, "val": {"blue": 3, "red": 3},
                                        "test": {"blue": 3, "red": 3}}


def test_denormalize_inverts_normalize():
    pre = Preprocess(mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))
    original = torch.rand(3, 8, 8)
    normalised = (original - torch.tensor(pre.mean)[:, None, None]) / torch.tensor(pre.std)[:, None, None]
    back = denormalize(normalised, pre.mean, pre.std)
    assert back.shape == (8, 8, 3)
    assert abs(back - original.permute(1, 2, 0).numpy()).max() < 1e-6
    assert denormalize(torch.full((3, 2, 2), 100.0)).max() == 1.0  # clipped
