"""The bundles the repo ships (models/recognizer/v1, v2, ...) are complete, intact and work on
the mini data with onnxruntime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cartsense_training.bundle import sha256_of
from cartsense_training.data import load_image_bgr, read_split
from cartsense_training.evaluate import Bundle, evaluate_entries
from cartsense_training.preprocessing import preprocess

ROOT = Path(__file__).resolve().parents[2] / "models" / "recognizer"
BUNDLES = sorted(p for p in ROOT.glob("*") if (p / "manifest.json").is_file())
pytestmark = pytest.mark.skipif(not BUNDLES, reason="no shipped bundle yet")


@pytest.fixture(params=BUNDLES, ids=[p.name for p in BUNDLES])
def shipped(request) -> Path:
    return request.param


def test_manifest_lists_every_file_with_its_sha256(shipped: Path) -> None:
    manifest = json.loads((shipped / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    on_disk = {p.name for p in shipped.iterdir() if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == sha256_of(shipped / name), name
    assert sum((shipped / n).stat().st_size for n in on_disk) < 25e6


def test_golden_reference_reproduces(shipped: Path, mini: Path) -> None:
    golden = json.loads((shipped / "golden.json").read_text())
    bundle = Bundle.load(shipped)
    image = load_image_bgr(mini.parent.parent / golden["image"])
    tensor = preprocess(image, bundle.pre)
    assert float(tensor.sum(dtype=np.float64)) == pytest.approx(golden["input_sum"], rel=1e-6)
    emb = bundle.session("model.onnx").run(["embedding"], {"image": tensor[None]})[0][0]
    np.testing.assert_allclose(emb, golden["model.onnx"]["embedding"], atol=1e-4)


def test_shipped_bundle_recognizes_mini_dev(shipped: Path, mini: Path) -> None:
    bundle = Bundle.load(shipped)
    result = evaluate_entries(bundle, read_split(mini / "dev.txt"), "model.int8.onnx")
    assert result["images"] == 81
    # These photos are part of dev (never trained on); the full dev top-1 is in the model card.
    assert result["top1_fine"] > 0.5 and result["top5_fine"] > 0.8
