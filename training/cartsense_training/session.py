"""Reader for cartsense session folders (format v1, docs/session-format.md) for the ML side:
labelling, dataset building and evaluation read what carts recorded and the simulator made.

The reader checks what the C++ reader checks: the manifest's keys, every file's size and sha256,
no unlisted files, stream headers, every line, and timestamps that never decrease. Errors are
SessionError with the file (and line) named.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

FORMAT = "cartsense-session"
FORMAT_VERSION = 1
ADC_MIN, ADC_MAX = -(1 << 23), (1 << 23) - 1


class SessionError(ValueError):
    """A session folder that is missing, damaged or malformed; the message names the file."""


@dataclass(frozen=True)
class LoadCellSample:
    t_ns: int
    counts: tuple[int, ...]
    temperature_c: float | None


@dataclass(frozen=True)
class Frame:
    t_ns: int
    frame_index: int
    clip: int
    path: Path


@dataclass(frozen=True)
class ScannerRead:
    t_ns: int
    camera_id: int
    format: str
    gtin: str


@dataclass(frozen=True)
class TouchscreenAction:
    t_ns: int
    kind: str
    prompt_id: str
    product_id: str
    answer: str


BARCODE_FORMATS = {"EAN13", "EAN8", "UPCA", "UPCE", "GS1_DATABAR", "OTHER"}
TOUCH_KINDS = {"answer_prompt", "choose_product", "remove_item", "request_help", "start_checkout"}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _int(text: str, what: str) -> int:
    if not text or not (text.isdigit() or (text[0] == "-" and text[1:].isdigit())):
        raise ValueError(f"{what}: '{text[:40]}' is not an integer")
    return int(text)


def _finite(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what}: '{text[:40]}' is not a number") from None
    if not math.isfinite(value) or text.strip() != text:
        raise ValueError(f"{what}: '{text[:40]}' is not a finite number")
    return value


def _time(text: str) -> int:
    value = _int(text, "t_ns")
    if value < 0:
        raise ValueError(f"t_ns: negative timestamp {value}")
    return value


class Session:
    """An opened, verified session folder."""

    def __init__(self, folder: str | Path, verify_files: bool = True) -> None:
        self.folder = Path(folder)
        manifest_path = self.folder / "manifest.json"
        if not self.folder.is_dir():
            raise SessionError(f"{self.folder}: not a session folder")
        if not manifest_path.is_file():
            raise SessionError(
                f"{manifest_path}: missing (the session was never finished, or this is not a "
                "session)"
            )
        try:
            self.manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SessionError(f"{manifest_path}: not valid JSON ({error})") from None
        self._check_manifest(manifest_path)
        if verify_files:
            self._verify_files()

    # -- manifest -------------------------------------------------------------------------------

    def _check_manifest(self, where: Path) -> None:
        m = self.manifest

        def need(obj: object, key: str, kind: type | tuple[type, ...], path: str) -> object:
            if not isinstance(obj, dict) or key not in obj:
                raise SessionError(f"{where}: {path}{key}: missing")
            value = obj[key]
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise SessionError(f"{where}: {path}{key}: wrong type")
            return value

        if not isinstance(m, dict):
            raise SessionError(f"{where}: expected a JSON object")
        if need(m, "format", str, "") != FORMAT:
            raise SessionError(f"{where}: format is not '{FORMAT}'")
        version = need(m, "format_version", int, "")
        if version != FORMAT_VERSION:
            raise SessionError(f"{where}: format_version {version} is not supported")
        for key in ("session_id", "origin", "created_utc", "catalogue_version"):
            need(m, key, str, "")
        cells = need(need(m, "load_cells", dict, ""), "cells", list, "load_cells.")
        if not 3 <= len(cells) <= 4:
            raise SessionError(f"{where}: load_cells.cells: expected 3 or 4 cells")
        need(m, "cameras", list, "")
        streams = need(m, "streams", dict, "")
        files = need(m, "files", list, "")
        self.files: dict[str, dict] = {}
        for i, entry in enumerate(files):
            path = need(entry, "path", str, f"files[{i}].")
            parts = path.split("/")
            if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in path:
                raise SessionError(f"{where}: files[{i}].path: '{path}' is not inside the session")
            if path in self.files:
                raise SessionError(f"{where}: files[{i}].path: '{path}' listed twice")
            self.files[path] = entry
        announced = ["loadcell.csv"]
        if "imu" in m:
            announced.append("imu.csv")
        for key, name in (("scanner_reads", "scanner.csv"), ("touchscreen", "touchscreen.csv"),
                          ("truth", "truth.json")):
            if need(streams, key, bool, "streams."):
                announced.append(name)
        announced += [f"cameras/{c['name']}/frames.csv" for c in m["cameras"]]
        for name in announced:
            if name not in self.files:
                raise SessionError(f"{where}: files: '{name}' is announced but not listed")

    def _verify_files(self) -> None:
        for relative, entry in self.files.items():
            path = self.folder / relative
            if not path.is_file():
                raise SessionError(f"{path}: missing")
            size = path.stat().st_size
            if size != entry.get("bytes"):
                raise SessionError(
                    f"{path}: {size} bytes, the manifest says {entry.get('bytes')} "
                    "(truncated or appended to)"
                )
            if _sha256(path) != entry.get("sha256"):
                raise SessionError(f"{path}: sha256 mismatch (altered or damaged)")
        for path in self.folder.rglob("*"):
            relative = path.relative_to(self.folder).as_posix()
            if path.is_file() and relative != "manifest.json" and relative not in self.files:
                raise SessionError(f"{path}: not listed in the manifest (unexpected file)")

    # -- streams --------------------------------------------------------------------------------

    def _lines(self, relative: str, header: str) -> Iterator[tuple[str, list[str]]]:
        path = self.folder / relative
        with path.open("r", encoding="utf-8", newline="") as f:
            text = f.read()
        if not text:
            raise SessionError(f"{path}:1: empty file (no header line)")
        if not text.endswith("\n"):
            raise SessionError(f"{path}: last line has no line terminator (truncated file?)")
        lines = text[:-1].split("\n")
        if lines[0] != header:
            raise SessionError(f"{path}:1: header is '{lines[0][:100]}', expected '{header}'")
        previous = -1
        for number, line in enumerate(lines[1:], start=2):
            fields = next(csv.reader([line], delimiter=",", quoting=csv.QUOTE_NONE))
            where = f"{path}:{number}"
            try:
                t_ns = _time(fields[0]) if fields else _time("")
            except ValueError as error:
                raise SessionError(f"{where}: {error}") from None
            if t_ns < previous:
                raise SessionError(f"{where}: timestamp {t_ns} is earlier than the previous line's")
            previous = t_ns
            yield where, fields

    @staticmethod
    def _expect(where: str, fields: list[str], count: int) -> None:
        if len(fields) != count:
            raise SessionError(f"{where}: expected {count} fields, got {len(fields)}")

    def load_cells(self) -> Iterator[LoadCellSample]:
        n = len(self.manifest["load_cells"]["cells"])
        header = "t_ns," + ",".join(f"c{i}" for i in range(n)) + ",temperature_c"
        for where, fields in self._lines("loadcell.csv", header):
            self._expect(where, fields, n + 2)
            try:
                counts = tuple(_int(f, f"c{i}") for i, f in enumerate(fields[1 : n + 1]))
                if any(not ADC_MIN <= c <= ADC_MAX for c in counts):
                    raise ValueError("counts outside the 24-bit ADC range")
                temperature = _finite(fields[-1], "temperature_c") if fields[-1] else None
            except ValueError as error:
                raise SessionError(f"{where}: {error}") from None
            yield LoadCellSample(int(fields[0]), counts, temperature)

    def frames(self, camera: str) -> Iterator[Frame]:
        folder = f"cameras/{camera}"
        previous = -1
        for where, fields in self._lines(f"{folder}/frames.csv", "t_ns,frame_index,clip,file"):
            self._expect(where, fields, 4)
            try:
                index, clip = _int(fields[1], "frame_index"), _int(fields[2], "clip")
            except ValueError as error:
                raise SessionError(f"{where}: {error}") from None
            name = unquote(fields[3])
            if index <= previous or clip < 0 or "/" in name or f"{folder}/{name}" not in self.files:
                raise SessionError(f"{where}: bad frame row")
            previous = index
            yield Frame(int(fields[0]), index, clip, self.folder / folder / name)

    def scanner_reads(self) -> Iterator[ScannerRead]:
        if not self.manifest["streams"]["scanner_reads"]:
            return
        for where, fields in self._lines("scanner.csv", "t_ns,camera_id,format,gtin"):
            self._expect(where, fields, 4)
            if fields[2] not in BARCODE_FORMATS or not fields[3].isdigit():
                raise SessionError(f"{where}: bad barcode read")
            yield ScannerRead(int(fields[0]), int(fields[1]), fields[2], fields[3])

    def touchscreen(self) -> Iterator[TouchscreenAction]:
        if not self.manifest["streams"]["touchscreen"]:
            return
        header = "t_ns,kind,prompt_id,product_id,answer"
        for where, fields in self._lines("touchscreen.csv", header):
            self._expect(where, fields, 5)
            if fields[1] not in TOUCH_KINDS:
                raise SessionError(f"{where}: unknown touchscreen action '{fields[1][:32]}'")
            yield TouchscreenAction(int(fields[0]), fields[1], *(unquote(f) for f in fields[2:]))

    def truth(self) -> dict:
        if not self.manifest["streams"]["truth"]:
            raise SessionError(f"{self.folder}: the session has no ground truth")
        path = self.folder / "truth.json"
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SessionError(f"{path}: not valid JSON ({error})") from None
        if not isinstance(value, dict):
            raise SessionError(f"{path}: expected a JSON object")
        return value

    def validate(self) -> dict[str, int]:
        """Reads every stream in full; returns the number of records per stream."""
        counts = {"loadcell": sum(1 for _ in self.load_cells())}
        for camera in self.manifest["cameras"]:
            counts[f"camera/{camera['name']}"] = sum(1 for _ in self.frames(camera["name"]))
        counts["scanner"] = sum(1 for _ in self.scanner_reads())
        counts["touchscreen"] = sum(1 for _ in self.touchscreen())
        if self.manifest["streams"]["truth"]:
            self.truth()
        return counts
