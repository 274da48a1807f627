"""Chooses the input size by measurement: accuracy against latency, before the full training.

For each candidate size: the ImageNet-pretrained trunk (frozen, no fine-tuning) embeds
`per_class` train-core photos per product and all dev photos; dev top-1 is nearest class mean
(cosine), the way the cart decides. Latency is the exported recognizer graph (trunk + embedding
+ heads) in onnxruntime on 1 thread, batch 1, median of repeated runs. Fine-tuning raises every
row, so the table ranks sizes rather than predicting final accuracy.

    python -m cartsense_training.inputsize --data ../shared/data/grocery-store --out table.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from .data import load_image_bgr, read_classes, read_split
from .model import BACKBONES, DEFAULT_BACKBONE, ModelConfig, build_model
from .preprocessing import Preprocessing, preprocess


def embed_features(model, entries, pre: Preprocessing, batch: int = 32) -> np.ndarray:
    out = []
    with torch.no_grad():
        for start in range(0, len(entries), batch):
            chunk = entries[start:start + batch]
            images = np.stack([preprocess(load_image_bgr(e.path), pre) for e in chunk])
            feats = model.trunk_features(torch.from_numpy(images))
            out.append(torch.nn.functional.normalize(feats, dim=1).numpy())
    return np.concatenate(out)


def onnx_latency_ms(model, size: int, runs: int = 60) -> float:
    import onnxruntime as ort

    from .export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        export_onnx(model, size, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
        for _ in range(5):
            session.run(None, {"image": x})
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            session.run(None, {"image": x})
            times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="dataset folder (classes.csv, splits)")
    parser.add_argument("--sizes", default="128,160,192,224")
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--backbones", default=DEFAULT_BACKBONE,
                        help=f"comma-separated ImageNet trunks ({', '.join(BACKBONES)})")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    data = Path(args.data)
    classes = read_classes(data / "classes.csv")
    train = read_split(data / "train-core.txt", classes)
    dev = read_split(data / "dev.txt", classes)
    by_class = defaultdict(list)
    for entry in train:
        by_class[entry.fine_id].append(entry)
    gallery = [e for fid in sorted(by_class) for e in by_class[fid][: args.per_class]]
    rows = []
    runs = [(b, int(s)) for b in args.backbones.split(",") for s in args.sizes.split(",")]
    for backbone, size in runs:
        model = build_model(ModelConfig(input_size=size, backbone=backbone)).eval()
        pre = Preprocessing(input_size=size)
        start = time.time()
        g = embed_features(model, gallery, pre)
        d = embed_features(model, dev, pre)
        labels = np.array([e.fine_id for e in gallery])
        means = np.stack([g[labels == c].mean(0) for c in range(len(classes))])
        means /= np.linalg.norm(means, axis=1, keepdims=True)
        pred = (d @ means.T).argmax(1)
        truth = np.array([e.fine_id for e in dev])
        coarse_of = np.array([c.coarse_id for c in classes])
        row = {
            "backbone": backbone,
            "input_size": size,
            "dev_top1_fine_frozen_ncm": float((pred == truth).mean()),
            "dev_top1_coarse_frozen_ncm": float((coarse_of[pred] == coarse_of[truth]).mean()),
            "onnx_fp32_latency_ms_1thread": onnx_latency_ms(model, size),
            "seconds": round(time.time() - start, 1),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
