"""ONNX export (fp32) and INT8 quantization in QDQ form, calibrated on train images.

The graph: input `image` float32 [N, 3, S, S] (see preprocessing.json), outputs `embedding`
[N, 128] (L2-normalized), `fine_logits` [N, F], `coarse_logits` [N, C]. Opset 13, dynamic batch.
INT8: onnxruntime.quantization.quantize_static, QDQ format, per-channel 7-bit (reduce_range)
int8 weights, uint8 activations, MinMax calibration: chosen so the peer runtime (onnxruntime)
runs it directly and gives the same answers on x86 CPUs with and without VNNI (see
quantize_int8).

    python -m cartsense_training.export --bundle DIR   # re-make DIR/model.int8.onnx
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
                  pre: Preprocessing, reduce_range: bool = True, weight_type: str = "int8") -> Path:
    """QDQ INT8 model of `fp32_path`, calibrated (MinMax) on `calibration`.

    reduce_range=True quantizes weights to 7 bits ([-64, 64]). On x86 CPUs without VNNI
    (AVX2, plain AVX-512; this machine is one) onnxruntime multiplies u8 activations by s8
    weights with vpmaddubsw, whose int16 sums of two products saturate when both weights are
    large; 7-bit weights keep every pair sum in range. onnxruntime's quantization docs
    recommend it for such CPUs. weight_type="uint8" (U8U8) is the other documented remedy.
    """
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
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QUInt8 if weight_type == "uint8" else QuantType.QInt8,
            reduce_range=reduce_range, calibrate_method=CalibrationMethod.MinMax,
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


def requantize_bundle(bundle: Path, data_root: Path, out_name: str = "model.int8.onnx",
                      reduce_range: bool = True, weight_type: str = "int8") -> Path:
    """Re-makes a bundle's INT8 model from its model.onnx with the calibration the bundle step
    uses (`calibration_per_class` train photos per product, seeded, from metrics.json)."""
    import json

    from .data import read_classes, read_split

    bundle = Path(bundle)
    config = json.loads((bundle / "metrics.json").read_text(encoding="utf-8"))["config"]
    classes = read_classes(Path(data_root) / "classes.csv")
    excluded = set(config.get("exclude_fine_ids", []))
    photos = [e for e in read_split(Path(data_root) / config["train_split"], classes)
              if e.fine_id not in excluded and "Iconic" not in e.path.name]
    calibration = calibration_entries(photos, config["calibration_per_class"], config["seed"])
    pre = Preprocessing.load(bundle / "preprocessing.json")
    return quantize_int8(bundle / "model.onnx", bundle / out_name, calibration, pre,
                         reduce_range=reduce_range, weight_type=weight_type)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description="Re-make a bundle's INT8 QDQ model from its model.onnx (the bundle step's "
                    "calibration). To export from a run's checkpoint, use "
                    "`python -m cartsense_training.train --bundle-only --out RUN --bundle DIR`.")
    parser.add_argument("--bundle", required=True, type=Path, help="bundle folder")
    parser.add_argument("--data", type=Path, help="dataset folder (default: the one in "
                        "the bundle's metrics.json)")
    parser.add_argument("--out-name", default="model.int8.onnx",
                        help="file name inside the bundle (evaluate with --model NAME)")
    parser.add_argument("--no-reduce-range", action="store_true",
                        help="8-bit weights (saturates on x86 without VNNI)")
    parser.add_argument("--weight-type", choices=("int8", "uint8"), default="int8")
    args = parser.parse_args(argv)
    if args.data is None:
        import json

        metrics = json.loads((args.bundle / "metrics.json").read_text(encoding="utf-8"))
        args.data = Path(metrics["config"]["data_root"])
    path = requantize_bundle(args.bundle, args.data, args.out_name,
                             reduce_range=not args.no_reduce_range, weight_type=args.weight_type)
    print(path)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
