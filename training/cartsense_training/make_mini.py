"""Makes data/grocery-store-mini: a few photos per product, for smoke tests from a bare clone.

    python -m cartsense_training.make_mini --source ../shared/data/grocery-store \
        --out data/grocery-store-mini --train-per-class 2 --dev-per-class 1

Takes the first `train-per-class` photos (split file order) of each product from train-core.txt
and the first `dev-per-class` from dev.txt, every iconic image, classes.csv and the LICENSE,
copying files unchanged and keeping the folder layout, so the split files keep the format.
"""

from __future__ import annotations

import argparse
import shutil
from collections import defaultdict
from pathlib import Path

from .data import read_classes, read_split


def pick(split: Path, per_class: int) -> list[str]:
    chosen: dict[int, list[str]] = defaultdict(list)
    root = split.resolve().parent
    lines = []
    for entry in read_split(split):
        if len(chosen[entry.fine_id]) < per_class:
            relative = entry.path.relative_to(root).as_posix()
            chosen[entry.fine_id].append(relative)
            lines.append(f"{relative}, {entry.fine_id}, {entry.coarse_id}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--train-per-class", type=int, default=2)
    parser.add_argument("--dev-per-class", type=int, default=1)
    args = parser.parse_args(argv)
    source, out = Path(args.source), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for split, count in (("train-core.txt", args.train_per_class),
                         ("dev.txt", args.dev_per_class)):
        lines = pick(source / split, count)
        (out / split).write_text("\n".join(lines) + "\n", encoding="utf-8")
        files += [line.split(",")[0] for line in lines]
    for cls in read_classes(source / "classes.csv"):
        files.append(cls.iconic_path.resolve().relative_to(source.resolve()).as_posix())
    for relative in files:
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target)
    shutil.copyfile(source / "classes.csv", out / "classes.csv")
    shutil.copyfile(source / "LICENSE", out / "LICENSE")
    print(f"{len(files)} images copied to {out}")


if __name__ == "__main__":
    main()
