from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch

from cartsense_training.bundle import add_opencv_model
from cartsense_training.export import export_onnx
from cartsense_training.model import ModelConfig, build_model


def _bundle(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = build_model(ModelConfig(input_size=64, num_fine=6, num_coarse=2, pretrained=False))
    model.eval()
    folder = tmp_path / "bundle"
    folder.mkdir()
    export_onnx(model, 64, folder / "model.onnx")
    return folder


def test_opencv_model_is_added_within_budget_and_matches_the_model(tmp_path: Path) -> None:
    folder = _bundle(tmp_path)
    logs: list[str] = []
    assert add_opencv_model(folder, budget_bytes=10**9, log=logs.append)
    net = cv2.dnn.readNetFromONNX(str(folder / "model.opencv.onnx"))
    image = np.random.default_rng(1).standard_normal((1, 3, 64, 64)).astype(np.float32)
    net.setInput(image)
    ours = net.forward().reshape(1, -1)
    ours /= np.linalg.norm(ours)
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    reference = session.run(["embedding"], {"image": image})[0]
    assert float((ours * reference).sum()) > 0.9999


def test_opencv_model_is_left_out_over_budget(tmp_path: Path) -> None:
    folder = _bundle(tmp_path)
    (folder / "model.opencv.onnx").write_bytes(b"stale")
    logs: list[str] = []
    assert not add_opencv_model(folder, budget_bytes=1000, log=logs.append)
    assert not (folder / "model.opencv.onnx").exists()
    assert "not added" in logs[0]
