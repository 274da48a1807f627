from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cartsense_training.session import Session, SessionError


def write_session(folder: Path, loadcell_lines: list[str] | None = None) -> Path:
    """A small session written the way the C++ SessionWriter writes it."""
    files = {
        "loadcell.csv": "t_ns,c0,c1,c2,c3,temperature_c\n"
        + "".join(line + "\n" for line in (loadcell_lines or ["0,1,2,3,4,", "12,5,6,7,8,21.5"])),
        "scanner.csv": "t_ns,camera_id,format,gtin\n5,2,EAN13,4006381333931\n",
        "touchscreen.csv": "t_ns,kind,prompt_id,product_id,answer\n"
        "9,answer_prompt,p%2C1,,50%25\n",
        "truth.json": json.dumps({"actions": [], "final_basket": []}),
        "cameras/left/frames.csv": "t_ns,frame_index,clip,file\n3,0,0,0000000.jpg\n",
        "cameras/left/0000000.jpg": "\xff\xd8not really a jpeg",
    }
    entries = []
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("latin-1"))
        data = path.read_bytes()
        entries.append(
            {"path": relative, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        )
    manifest = {
        "format": "cartsense-session", "format_version": 1, "session_id": "t",
        "origin": "simulated", "created_utc": "2026-11-26T00:00:00Z", "start_ns": 0,
        "end_ns": 12, "basket": {"width_mm": 500, "depth_mm": 350, "height_mm": 250},
        "load_cells": {"rate_hz": 80, "temperature": True, "cells": [
            {"name": f"c{i}", "x_mm": 0, "y_mm": 0, "offset_counts": 0, "grams_per_count": 0.01}
            for i in range(4)]},
        "cameras": [{"id": 0, "name": "left", "role": "basket", "width_px": 64, "height_px": 48,
                     "fps": 15, "capture": "continuous",
                     "intrinsics": {"fx_px": 50, "fy_px": 50, "cx_px": 32, "cy_px": 24},
                     "floor_homography": [1, 0, 0, 0, 1, 0, 0, 0, 1]}],
        "streams": {"scanner_reads": True, "touchscreen": True, "truth": True},
        "catalogue_version": "test", "files": entries,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_reads_every_stream(tmp_path: Path) -> None:
    session = Session(write_session(tmp_path / "s"))
    assert session.validate() == {"loadcell": 2, "camera/left": 1, "scanner": 1, "touchscreen": 1}
    samples = list(session.load_cells())
    assert samples[1].counts == (5, 6, 7, 8) and samples[1].temperature_c == 21.5
    assert samples[0].temperature_c is None
    assert next(session.touchscreen()).prompt_id == "p,1"
    assert next(session.touchscreen()).answer == "50%"
    assert next(session.frames("left")).path.name == "0000000.jpg"


@pytest.mark.parametrize(
    "damage, named",
    [
        (lambda s: (s / "loadcell.csv").write_bytes((s / "loadcell.csv").read_bytes()[:-3]),
         "loadcell.csv"),
        (lambda s: (s / "scanner.csv").open("a").write("x"), "scanner.csv"),
        (lambda s: (s / "truth.json").unlink(), "truth.json"),
        (lambda s: (s / "cameras/left/extra.jpg").write_text("x"), "extra.jpg"),
        (lambda s: (s / "manifest.json").unlink(), "never finished"),
    ],
)
def test_damage_is_reported_naming_the_file(tmp_path: Path, damage, named: str) -> None:
    folder = write_session(tmp_path / "s")
    damage(folder)
    with pytest.raises(SessionError, match=named):
        Session(folder).validate()


@pytest.mark.parametrize(
    "line",
    [
        "12,1,2,3", "12,1,2,3,4,nan", "12,1.5,2,3,4,", "x,1,2,3,4,", "12,1,2,3,8388608,",
        "-3,1,2,3,4,",
    ],
)
def test_malformed_load_cell_lines_name_file_and_line(tmp_path: Path, line: str) -> None:
    folder = write_session(tmp_path / "s", ["0,1,2,3,4,", line])
    with pytest.raises(SessionError, match=r"loadcell\.csv:3"):
        list(Session(folder).load_cells())


def test_timestamps_going_backwards_are_refused(tmp_path: Path) -> None:
    folder = write_session(tmp_path / "s", ["10,1,2,3,4,", "5,1,2,3,4,"])
    with pytest.raises(SessionError, match=r"loadcell\.csv:3: timestamp 5"):
        list(Session(folder).load_cells())


def test_manifest_errors_name_the_key(tmp_path: Path) -> None:
    folder = write_session(tmp_path / "s")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 2
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SessionError, match="format_version 2"):
        Session(folder)
    manifest["format_version"] = 1
    manifest["files"][0]["path"] = "../loadcell.csv"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SessionError, match=r"files\[0\]\.path"):
        Session(folder)
