"""ONNX export (fp32) and INT8 quantization in QDQ form, calibrated on train images.

The graph: input `image` float32 [N, 3, S, S] (see preprocessing.json), outputs `embedding`
[N, 128] (L2-normalized), `fine_logits` [N, F], `coarse_logits` [N, C]. Opset 13, dynamic batch.
INT8: onnxruntime.quantization.quantize_static, QDQ format, per-channel int8 weights, uint8
activations... chosen so the peer runtime (onnxruntime) runs it directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import torch

from .data import SplitEntry, load_image_bgr
from .model import ExportWrapper, Recognizer
from .preprocessing import Preprocessing, preprocess

OUTPUT_NAMES = ["embedding", "fine_logits", "coarse_logits"]
OPSET = 13


def export_onnx(model: Recognizer, input_size: int, path: Path) -> Path:
    wrapper = ExportWrapper(model).eval()
    dummy = torch.zeros(1, 3, input_size, input_size)
    path = Path(path)
    torch.onnx.export(
        wrapper, dummy, str(path), input_names=["image"], output_names=OUTPUT_NAMES,
        dynamic_axes={"image": {0: "batch"}, **{name: {0: "batch"} for name in OUTPUT_NAMES}},
        opset_version=OPSET, do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(str(path)))
    return path


class _CalibrationReader:
    """Feeds preprocessed train images to quantize_static, one at a time."""

    def __init__(self, entries: Sequence[SplitEntry], pre: Preprocessing) -> None:
        self.entries = list(entries)
        self.pre = pre
        self.index = 0

    def get_next(self):
        if self.index >= len(self.entries):
            return None
        image = preprocess(load_image_bgr(self.entries[self.index].path), self.pre)
        self.index += 1
        return {"image": image[None]}

    def rewind(self) -> None:
        self.index = 0


def calibration_entries(entries: Sequence[SplitEntry], per_class: int, seed: int) -> list:
    """`per_class` train images of every class, picked with a seeded shuffle."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(entries))
    counts: dict[int, int] = {}
    picked = []
    for i in order:
        entry = entries[int(i)]
        if counts.get(entry.fine_id, 0) < per_class:
            counts[entry.fine_id] = counts.get(entry.fine_id, 0) + 1
            picked.append(entry)
    return picked


def quantize_int8(fp32_path: Path, int8_path: Path, calibration: Sequence[SplitEntry],
                  pre: Preprocessing) -> Path:
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = Path(int8_path).with_suffix(".prep.onnx")
    quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
    try:
        quantize_static(
            str(prepared), str(int8_path), _CalibrationReader(calibration, pre),
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            # The normalized embedding and the cosine heads stay in float: they are tiny, and
            # quantizing a unit vector's last steps costs accuracy for no speed.
            nodes_to_exclude=_head_nodes(prepared),
        )
    finally:
        prepared.unlink(missing_ok=True)
    onnx.checker.check_model(onnx.load(str(int8_path)))
    return Path(int8_path)


def _head_nodes(path: Path) -> list[str]:
    """Nodes after the trunk's global pooling (embedding projection, norms, heads)."""
    graph = onnx.load(str(path)).graph
    names = [node.name for node in graph.node]
    pool = max((i for i, node in enumerate(graph.node)
                if node.op_type in ("ReduceMean", "GlobalAveragePool")), default=None)
    if pool is None:
        return []
    return names[pool + 1:]
