"""`train --extra-train-split FILE[:REPEAT]`: extra images (e.g. `cartsense export-crops`'
basket-camera crops) join the training loader only, and never when they were rendered from dev
photos."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest

from cartsense_training.data import SplitFormatError, read_classes
from cartsense_training.train import (
    TrainConfig,
    build_data,
    main,
    parse_extra_split_arg,
    verify_extra_train_split,
)


def _crops(folder: Path, mini: Path, sources: list[tuple[str, int, int]],
           jsonl: bool = True, photo_of=None) -> Path:
    """A folder laid out like export-crops' output: images/, crops.txt (paths relative to the
    folder) and crops.jsonl naming each crop's source photo. `sources` are split lines of the
    mini dataset; each source image is copied in as the "crop". photo_of(i, path) may change
    the photo recorded for crop i."""
    (folder / "images").mkdir(parents=True)
    lines, records = [], []
    for index, (path, fine, coarse) in enumerate(sources):
        name = f"images/s1/{index}-cam0.jpg"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mini / path, folder / name)
        lines.append(f"{name}, {fine}, {coarse}")
        photo = str(mini / path) if photo_of is None else photo_of(index, path)
        records.append({"file": name, "session": "s1", "camera": 0, "fine_id": fine,
                        "coarse_id": coarse, "photo": photo})
    (folder / "crops.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if jsonl:
        (folder / "crops.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return folder / "crops.txt"


def _lines(split: Path, count: int) -> list[tuple[str, int, int]]:
    out = []
    for line in split.read_text(encoding="utf-8").splitlines()[:count]:
        path, fine, coarse = (f.strip() for f in line.split(","))
        out.append((path, int(fine), int(coarse)))
    return out


@pytest.fixture()
def cfg(mini: Path) -> TrainConfig:
    return TrainConfig(data_root=str(mini), input_size=64, num_workers=0)


@pytest.fixture()
def classes(mini: Path):
    return read_classes(mini / "classes.csv")


def test_parse_file_and_repeat() -> None:
    assert parse_extra_split_arg("/tmp/c/crops.txt") == ("/tmp/c/crops.txt", 1)
    assert parse_extra_split_arg("/tmp/c/crops.txt:4") == ("/tmp/c/crops.txt", 4)
    assert parse_extra_split_arg("/tmp/a:b/crops.txt") == ("/tmp/a:b/crops.txt", 1)
    for bad in ("/tmp/c/crops.txt:0", "/tmp/c/crops.txt:x", "/tmp/c/crops.txt:", ":3"):
        with pytest.raises(ValueError):
            parse_extra_split_arg(bad)


def test_entries_join_the_training_loader_repeated(tmp_path: Path, mini: Path, cfg, classes
                                                   ) -> None:
    sources = _lines(mini / "train-core.txt", 3)
    split = _crops(tmp_path / "crops", mini, sources)
    record = verify_extra_train_split(split, 3, cfg, classes)
    assert record["path"] == str(split.resolve())
    assert record["repeat"] == 3 and record["images"] == 3
    assert record["sha256"] == hashlib.sha256(split.read_bytes()).hexdigest()
    assert "none in dev.txt" in record["provenance"]

    plain = build_data(cfg)
    cfg.extra_train_splits = [record]
    data = build_data(cfg)
    assert len(data.extra_entries) == 9
    assert len(data.train_loader.dataset) == len(plain.train_loader.dataset) + 9
    # Only the loader: prototypes and INT8 calibration (data.train_entries) and dev unchanged.
    assert data.train_entries == plain.train_entries
    assert data.dev_entries == plain.dev_entries
    crop_paths = {(split.parent / f"images/s1/{i}-cam0.jpg").resolve() for i in range(3)}
    added = data.train_loader.dataset.entries[len(plain.train_entries):]
    assert {e.path for e in added} == crop_paths
    assert [e.fine_id for e in added] == [f for _, f, _ in sources] * 3
    # The run's config (logged, in the checkpoint and metrics.json) names the split.
    assert asdict(cfg)["extra_train_splits"][0]["sha256"] == record["sha256"]
    # Left without extras when a bundle is written from the checkpoint.
    assert len(build_data(cfg, with_extra=False).train_loader.dataset) == len(
        plain.train_loader.dataset)


def test_split_changed_after_verification_is_refused(tmp_path: Path, mini: Path, cfg, classes
                                                     ) -> None:
    split = _crops(tmp_path / "crops", mini, _lines(mini / "train-core.txt", 2))
    cfg.extra_train_splits = [verify_extra_train_split(split, 1, cfg, classes)]
    split.write_text(split.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(SplitFormatError, match="changed since it was verified"):
        build_data(cfg)


def test_crop_of_a_dev_photo_is_refused(tmp_path: Path, mini: Path, cfg, classes) -> None:
    sources = _lines(mini / "train-core.txt", 3)
    dev_photo = _lines(mini / "dev.txt", 1)[0][0]
    split = _crops(tmp_path / "crops", mini, sources,
                   photo_of=lambda i, path: str(mini / dev_photo) if i == 1 else str(mini / path))
    with pytest.raises(SplitFormatError, match="dev.txt"):
        verify_extra_train_split(split, 1, cfg, classes)


def test_dev_refusal_through_the_command_line(tmp_path: Path, mini: Path, capsys) -> None:
    dev = _lines(mini / "dev.txt", 2)
    split = _crops(tmp_path / "crops", mini, dev)  # crops rendered from dev photos
    out = tmp_path / "run"
    assert main(["--smoke", "--out", str(out), "--extra-train-split", f"{split}:4"]) == 2
    assert "dev.txt" in capsys.readouterr().err
    assert not (out / "checkpoint.pt").exists() and not (out / "train.log").exists()


def test_source_photo_outside_train_split_is_refused(tmp_path: Path, mini: Path, cfg, classes
                                                     ) -> None:
    sources = _lines(mini / "train-core.txt", 2)
    iconic = str(classes[sources[0][1]].iconic_path)
    split = _crops(tmp_path / "crops", mini, sources, photo_of=lambda i, path: iconic)
    with pytest.raises(SplitFormatError, match="not in train-core.txt"):
        verify_extra_train_split(split, 1, cfg, classes)


def test_relative_photo_resolves_against_the_dataset(tmp_path: Path, mini: Path, cfg, classes
                                                     ) -> None:
    dev = _lines(mini / "dev.txt", 1)
    split = _crops(tmp_path / "crops", mini, dev, photo_of=lambda i, path: path)
    with pytest.raises(SplitFormatError, match="dev.txt"):
        verify_extra_train_split(split, 1, cfg, classes)


def test_crop_without_provenance_record_is_refused(tmp_path: Path, mini: Path, cfg, classes
                                                   ) -> None:
    split = _crops(tmp_path / "crops", mini, _lines(mini / "train-core.txt", 3))
    jsonl = split.parent / "crops.jsonl"
    jsonl.write_text("".join(jsonl.read_text(encoding="utf-8").splitlines(True)[:2]),
                     encoding="utf-8")
    with pytest.raises(SplitFormatError, match="no record"):
        verify_extra_train_split(split, 1, cfg, classes)


def test_without_crops_jsonl_needs_allow_unverified(tmp_path: Path, mini: Path, cfg, classes,
                                                    capsys) -> None:
    split = _crops(tmp_path / "crops", mini, _lines(mini / "train-core.txt", 2), jsonl=False)
    with pytest.raises(SplitFormatError, match="allow-unverified-extra"):
        verify_extra_train_split(split, 1, cfg, classes)
    record = verify_extra_train_split(split, 2, cfg, classes, allow_unverified=True)
    assert record["provenance"].startswith("unverified") and record["images"] == 2
    assert main(["--smoke", "--out", str(tmp_path / "run"), "--extra-train-split",
                 str(split)]) == 2
    assert "allow-unverified-extra" in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [
    ("images/s1/0-cam0.jpg, 0\n", "3 fields"),
    ("images/s1/0-cam0.jpg, zero, 0\n", "integers"),
    ("images/s1/missing.jpg, 0, 0\n", "image not found"),
    ("images/s1/0-cam0.jpg, 0, 5\n", "disagrees with classes.csv"),
    ("\n", "no images listed"),
])
def test_malformed_split_is_refused(tmp_path: Path, mini: Path, cfg, classes, capsys,
                                    text: str, message: str) -> None:
    split = _crops(tmp_path / "crops", mini, _lines(mini / "train-core.txt", 1))
    split.write_text(text, encoding="utf-8")
    with pytest.raises(SplitFormatError, match=message):
        verify_extra_train_split(split, 1, cfg, classes)
    assert main(["--smoke", "--out", str(tmp_path / "run"), "--extra-train-split",
                 f"{split}:2"]) == 2
    assert message in capsys.readouterr().err


def test_malformed_jsonl_is_refused(tmp_path: Path, mini: Path, cfg, classes) -> None:
    split = _crops(tmp_path / "crops", mini, _lines(mini / "train-core.txt", 1))
    (split.parent / "crops.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(SplitFormatError, match="crops.jsonl:1"):
        verify_extra_train_split(split, 1, cfg, classes)


def test_missing_split_and_bad_repeat_fail_on_the_command_line(tmp_path: Path) -> None:
    assert main(["--smoke", "--out", str(tmp_path / "run"), "--extra-train-split",
                 str(tmp_path / "nope.txt")]) == 2
    with pytest.raises(SystemExit):
        main(["--smoke", "--out", str(tmp_path / "run"), "--extra-train-split",
              f"{tmp_path / 'x.txt'}:0"])
