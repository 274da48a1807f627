"""Grocery Store data: split files, the class table, and the training dataset.

A split file has one image a line, `path, fine_id, coarse_id`, with the path relative to the
folder that holds the split file (the dataset root). classes.csv names every product, its coarse
class and its iconic image. Parsing is strict: a malformed line is an error that names the file
and the line, never a silently skipped image.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset


class SplitFormatError(ValueError):
    """A split file or class table that does not follow the dataset's format."""


@dataclass(frozen=True)
class SplitEntry:
    path: Path  # absolute, resolved against the split file's folder
    fine_id: int
    coarse_id: int


@dataclass(frozen=True)
class ProductClass:
    fine_id: int
    name: str
    coarse_id: int
    coarse_name: str
    iconic_path: Path  # absolute


def parse_split_line(line: str, where: str, root: Path) -> SplitEntry | None:
    """One line of a split file; None for a blank line. `where` names file:line for errors."""
    text = line.strip()
    if not text:
        return None
    fields = [field.strip() for field in text.split(",")]
    if len(fields) != 3:
        raise SplitFormatError(
            f"{where}: expected 'path, fine_id, coarse_id' (3 fields), got {len(fields)}: {text!r}"
        )
    path, fine_text, coarse_text = fields
    if not path:
        raise SplitFormatError(f"{where}: empty image path")
    try:
        fine_id, coarse_id = int(fine_text), int(coarse_text)
    except ValueError:
        raise SplitFormatError(
            f"{where}: fine_id and coarse_id must be integers, got {fine_text!r}, {coarse_text!r}"
        ) from None
    if fine_id < 0 or coarse_id < 0:
        raise SplitFormatError(f"{where}: negative class id in {text!r}")
    return SplitEntry(path=(root / path).resolve(), fine_id=fine_id, coarse_id=coarse_id)


def read_split(split_file: str | Path, classes: Sequence[ProductClass] | None = None,
               check_files: bool = True) -> list[SplitEntry]:
    """Reads a split file; paths resolve relative to the split file's folder.

    With `classes`, ids are checked against the class table (unknown fine id, or a coarse id
    that disagrees with the table, is an error). With `check_files`, every image must exist.
    """
    split_file = Path(split_file)
    if not split_file.is_file():
        raise FileNotFoundError(f"split file not found: {split_file}")
    root = split_file.resolve().parent
    entries: list[SplitEntry] = []
    by_id = {c.fine_id: c for c in classes} if classes is not None else None
    with split_file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            where = f"{split_file}:{number}"
            entry = parse_split_line(line, where, root)
            if entry is None:
                continue
            if by_id is not None:
                known = by_id.get(entry.fine_id)
                if known is None:
                    raise SplitFormatError(f"{where}: unknown fine_id {entry.fine_id}")
                if known.coarse_id != entry.coarse_id:
                    raise SplitFormatError(
                        f"{where}: coarse_id {entry.coarse_id} disagrees with classes.csv "
                        f"({known.name} is coarse {known.coarse_id})"
                    )
            if check_files and not entry.path.is_file():
                raise SplitFormatError(f"{where}: image not found: {entry.path}")
            entries.append(entry)
    if not entries:
        raise SplitFormatError(f"{split_file}: no images listed")
    return entries


def read_classes(classes_csv: str | Path) -> list[ProductClass]:
    """Reads classes.csv (header row, then name, fine id, coarse name, coarse id, iconic, desc)."""
    classes_csv = Path(classes_csv)
    root = classes_csv.resolve().parent
    classes: list[ProductClass] = []
    with classes_csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise SplitFormatError(f"{classes_csv}: empty class table")
    for number, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 5:
            raise SplitFormatError(f"{classes_csv}:{number}: expected at least 5 columns")
        try:
            fine_id, coarse_id = int(row[1]), int(row[3])
        except ValueError:
            raise SplitFormatError(f"{classes_csv}:{number}: class ids must be integers") from None
        iconic = root / row[4].strip().lstrip("/")
        classes.append(ProductClass(fine_id, row[0].strip(), coarse_id, row[2].strip(), iconic))
    classes.sort(key=lambda c: c.fine_id)
    if [c.fine_id for c in classes] != list(range(len(classes))):
        raise SplitFormatError(f"{classes_csv}: fine ids must be 0..N-1 without gaps")
    return classes


def find_classes_csv(split_file: str | Path) -> Path:
    """classes.csv of the dataset a split file belongs to: beside it or in a parent folder."""
    folder = Path(split_file).resolve().parent
    for candidate in [folder, *folder.parents]:
        if (candidate / "classes.csv").is_file():
            return candidate / "classes.csv"
    raise FileNotFoundError(f"no classes.csv beside {split_file} or in a parent folder")


def load_image_bgr(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot decode image: {path}")
    return image


def iconic_entries(classes: Sequence[ProductClass]) -> list[SplitEntry]:
    return [SplitEntry(c.iconic_path, c.fine_id, c.coarse_id) for c in classes]


def remap_entries(entries: Sequence[SplitEntry], keep_fine_ids: Sequence[int]) -> list[SplitEntry]:
    """Keeps only `keep_fine_ids` (used to leave products out of training)."""
    keep = set(keep_fine_ids)
    return [e for e in entries if e.fine_id in keep]


class GroceryDataset(Dataset):
    """Images of a split as (tensor CHW float32, fine label, coarse label).

    `transform(image_bgr, rng, index)` returns the network input; it gets a numpy Generator
    seeded from (seed, epoch, index), so a sample is the same whatever worker draws it.
    `label_of_fine` maps dataset fine ids to training label indices (for left-out products).
    """

    def __init__(self, entries: Sequence[SplitEntry],
                 transform: Callable[[np.ndarray, np.random.Generator], np.ndarray],
                 seed: int = 0, label_of_fine: dict[int, int] | None = None,
                 coarse_of_fine: dict[int, int] | None = None) -> None:
        self.entries = list(entries)
        self.transform = transform
        self.seed = seed
        self.epoch = 0
        self.label_of_fine = label_of_fine
        self.coarse_of_fine = coarse_of_fine

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        entry = self.entries[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image = self.transform(load_image_bgr(entry.path), rng)
        fine = entry.fine_id if self.label_of_fine is None else self.label_of_fine[entry.fine_id]
        return torch.from_numpy(image), fine, entry.coarse_id
