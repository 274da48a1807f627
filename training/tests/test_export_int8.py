"""INT8 export: 7-bit weights (portable to x86 CPUs without VNNI), the re-quantization CLI, and
the train command keeping its bundle in the run folder unless told to ship it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from cartsense_training.data import read_split
from cartsense_training.evaluate import Bundle, run_model
from cartsense_training.export import main as export_main
from cartsense_training.train import REPO, parse_args


def _int8_weights(path: Path) -> list[np.ndarray]:
    model = onnx.load(str(path))
    return [numpy_helper.to_array(t) for t in model.graph.initializer
            if t.data_type == onnx.TensorProto.INT8 and t.dims]


def test_int8_weights_use_the_7_bit_range(smoke_run: Path) -> None:
    # vpmaddubsw (x86 without VNNI) adds two u8 x s8 products into int16: 255 * 64 * 2 = 32640
    # fits, 255 * 127 * 2 does not. onnxruntime's reduced int8 range is [-64, 64].
    weights = _int8_weights(smoke_run / "bundle" / "model.int8.onnx")
    assert len(weights) > 10
    assert min(int(w.min()) for w in weights) >= -64
    assert max(int(w.max()) for w in weights) <= 64


def test_requantize_cli_remakes_the_bundles_int8_model(smoke_run: Path, mini: Path,
                                                       tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(smoke_run / "bundle", bundle)
    assert export_main(["--bundle", str(bundle), "--data", str(mini),
                        "--out-name", "model.again.onnx"]) == 0
    assert export_main(["--bundle", str(bundle), "--data", str(mini), "--no-reduce-range",
                        "--out-name", "model.s8.onnx"]) == 0
    assert max(int(np.abs(w).max()) for w in _int8_weights(bundle / "model.s8.onnx")) > 64
    loaded = Bundle.load(bundle)
    entries = read_split(mini / "dev.txt")[:8]
    shipped = run_model(loaded.session("model.int8.onnx"), entries, loaded.pre)[0]
    again = run_model(loaded.session("model.again.onnx"), entries, loaded.pre)[0]
    np.testing.assert_allclose(again, shipped, atol=1e-5)  # same calibration, same model


def test_train_keeps_the_bundle_in_the_run_folder_unless_shipped() -> None:
    cfg, _ = parse_args([])
    assert Path(cfg.out_dir) == REPO / "training" / "runs" / "v2"
    assert Path(cfg.bundle_dir) == Path(cfg.out_dir) / "bundle"
    cfg, _ = parse_args(["--recipe", "v1", "--out", "/tmp/run"])
    assert cfg.bundle_dir == "/tmp/run/bundle" and cfg.bundle_version == "v1"
    cfg, _ = parse_args(["--bundle-only", "--out", "/tmp/run", "--bundle", "models/recognizer/v3"])
    assert cfg.bundle_dir == "models/recognizer/v3" and cfg.bundle_version == "v3"
    cfg, _ = parse_args(["--no-bundle"])
    assert cfg.bundle_dir == ""
