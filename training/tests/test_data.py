from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cartsense_training.data import (
    GroceryDataset,
    SplitFormatError,
    find_classes_csv,
    read_classes,
    read_split,
)
from cartsense_training.preprocessing import Preprocessing, preprocess, resize_and_crop


def test_mini_classes_and_splits(mini: Path) -> None:
    classes = read_classes(mini / "classes.csv")
    assert len(classes) == 81
    assert len({c.coarse_id for c in classes}) == 43
    assert all(c.iconic_path.is_file() for c in classes)
    train = read_split(mini / "train-core.txt", classes)
    dev = read_split(mini / "dev.txt", classes)
    assert {e.fine_id for e in train} == set(range(81))
    assert {e.fine_id for e in dev} == set(range(81))
    assert all(e.path.is_absolute() and e.path.is_file() for e in train + dev)


def test_split_paths_resolve_relative_to_split_file(tmp_path: Path, mini: Path) -> None:
    # A split file in another folder that points back into the mini dataset.
    nested = tmp_path / "elsewhere"
    nested.mkdir()
    first = (mini / "dev.txt").read_text().splitlines()[0]
    path, fine, coarse = (f.strip() for f in first.split(","))
    (nested / "one.txt").write_text(f"{mini / path}, {fine}, {coarse}\n")
    relative = Path("../") / Path(mini.name) / path
    link = tmp_path / mini.name
    link.symlink_to(mini)
    (nested / "two.txt").write_text(f"{relative}, {fine}, {coarse}\n\n")
    assert read_split(nested / "one.txt")[0].path.is_file()
    assert read_split(nested / "two.txt")[0].fine_id == int(fine)
    assert find_classes_csv(mini / "dev.txt") == mini / "classes.csv"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("train/a.jpg, 1", "3 fields"),
        ("train/a.jpg, one, 0", "must be integers"),
        ("train/a.jpg, 1, 0, extra", "3 fields"),
        (", 1, 0", "empty image path"),
        ("train/a.jpg, -1, 0", "negative"),
    ],
)
def test_malformed_split_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    split = tmp_path / "bad.txt"
    split.write_text(f"\n{line}\n")
    with pytest.raises(SplitFormatError, match=message) as error:
        read_split(split, check_files=False)
    assert f"{split}:2" in str(error.value)


def test_split_errors_for_missing_image_unknown_class_and_empty_file(tmp_path: Path,
                                                                     mini: Path) -> None:
    classes = read_classes(mini / "classes.csv")
    split = tmp_path / "s.txt"
    split.write_text("no/such.jpg, 0, 0\n")
    with pytest.raises(SplitFormatError, match="image not found"):
        read_split(split)
    split.write_text("no/such.jpg, 99, 0\n")
    with pytest.raises(SplitFormatError, match="unknown fine_id 99"):
        read_split(split, classes, check_files=False)
    split.write_text("no/such.jpg, 0, 5\n")
    with pytest.raises(SplitFormatError, match="disagrees with classes.csv"):
        read_split(split, classes, check_files=False)
    split.write_text("\n\n")
    with pytest.raises(SplitFormatError, match="no images"):
        read_split(split)
    with pytest.raises(FileNotFoundError):
        read_split(tmp_path / "absent.txt")


def test_preprocessing_rule(mini: Path) -> None:
    pre = Preprocessing(input_size=64)
    wide = np.zeros((50, 100, 3), np.uint8)
    wide[:, 50:] = 255  # right half white
    crop = resize_and_crop(wide, 64)
    assert crop.shape == (64, 64, 3)
    # 100x50 -> 128x64, centre crop x0 = 32: left half black, right half white.
    assert crop[:, :30].max() == 0 and crop[:, 34:].min() == 255
    image = np.full((64, 64, 3), (0, 127, 255), np.uint8)  # BGR
    tensor = preprocess(image, pre)
    assert tensor.shape == (3, 64, 64) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor[:, 0, 0], [(255 - 127) / 128, 0.0, (0 - 127) / 128])
    data = pre.to_json()
    assert Preprocessing.from_json(data) == pre
    assert {"input_size", "interpolation", "color_order", "mean", "std", "layout"} <= set(data)


def test_dataset_returns_tensor_and_labels(mini: Path) -> None:
    from cartsense_training.augment import EvalTransform

    entries = read_split(mini / "dev.txt")[:3]
    dataset = GroceryDataset(entries, EvalTransform(Preprocessing(input_size=64)))
    image, fine, coarse = dataset[1]
    assert tuple(image.shape) == (3, 64, 64)
    assert (fine, coarse) == (entries[1].fine_id, entries[1].coarse_id)
