"""Enrollment and open-set experiment on a model trained without some products.

    python -m cartsense_training.train --no-bundle --epochs 5 --out training/runs/enroll \
        --exclude 16,23,68,70,22,60,78,6,15,77,11,80,47
    python -m cartsense_training.enroll --checkpoint training/runs/enroll/checkpoint.pt \
        --enroll 16,23,68,70,22,60,78,6 --unknown 15,77,11,80,47 \
        --write models/recognizer/v1/enrollment.json

Enrollment: each left-out product gets a prototype from its iconic image plus `shots` train
photos (seeded pick), without retraining; top-1 is scored on its dev photos against all 81
prototypes (trained products from iconic + train-core, the `unknown` products too, so they act
as distractors here). Open set: the `unknown` products are then dropped from the gallery; the
open-set score is 1 - max cosine to any prototype, and AUROC measures how well it separates
their dev photos from the dev photos of products in the gallery. All through onnxruntime on the
exported fp32 graph, as the cart would run it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from .data import SplitEntry, read_classes, read_split
from .evaluate import prototype_rankings
from .preprocessing import Preprocessing
from .prototypes import embed_entries, prototypes_from_embeddings


def auroc(positive_scores: np.ndarray, negative_scores: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counted half (Mann-Whitney U)."""
    pos = np.asarray(positive_scores, dtype=np.float64)
    neg = np.asarray(negative_scores, dtype=np.float64)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("AUROC needs at least one positive and one negative")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def pick_shots(entries: list[SplitEntry], fine_id: int, shots: int, seed: int) -> list[SplitEntry]:
    own = [e for e in entries if e.fine_id == fine_id]
    if len(own) < shots:
        raise ValueError(f"product {fine_id} has {len(own)} train photos, {shots} needed")
    order = np.random.default_rng([seed, fine_id]).permutation(len(own))[:shots]
    return [own[int(i)] for i in sorted(order)]


def run(checkpoint: Path, data_root: Path, enroll: list[int], unknown: list[int], shots: int,
        seed: int) -> dict:
    import onnxruntime as ort

    from .export import export_onnx
    from .train import load_trained_model

    model, cfg = load_trained_model(checkpoint)
    left_out = set(cfg.exclude_fine_ids)
    if not set(enroll) | set(unknown) <= left_out:
        raise ValueError(f"products {sorted(set(enroll) | set(unknown) - left_out)} were not "
                         f"left out of training (left out: {sorted(left_out)})")
    classes = read_classes(data_root / "classes.csv")
    train = read_split(data_root / cfg.train_split, classes)
    dev = read_split(data_root / cfg.dev_split, classes)
    pre = Preprocessing(input_size=cfg.input_size)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, cfg.input_size, Path(tmp) / "model.onnx")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        gallery = [SplitEntry(c.iconic_path, c.fine_id, c.coarse_id) for c in classes]
        for c in classes:
            if c.fine_id in enroll:
                gallery += pick_shots(train, c.fine_id, shots, seed)
            else:
                gallery += [e for e in train if e.fine_id == c.fine_id]
        gallery_emb = embed_entries(session, gallery, pre)
        dev_emb = embed_entries(session, dev, pre)
    protos, counts = prototypes_from_embeddings(gallery_emb, [e.fine_id for e in gallery],
                                                len(classes))
    fine = np.array([e.fine_id for e in dev])
    ranking, _ = prototype_rankings(dev_emb, protos)
    enrolled_mask = np.isin(fine, enroll)
    trained_mask = ~np.isin(fine, list(left_out))

    # Open set: the unknown products leave the gallery.
    in_gallery = ~np.isin(np.arange(len(classes)), unknown)
    open_ranking, sims = prototype_rankings(dev_emb, protos, allowed=in_gallery)
    open_score = 1.0 - sims.max(axis=1)
    unknown_mask = np.isin(fine, unknown)
    known_scores, unknown_scores = open_score[~unknown_mask], open_score[unknown_mask]
    threshold = float(np.quantile(known_scores, 0.95))
    names = [c.name for c in classes]
    return {
        "checkpoint": str(checkpoint), "epochs": cfg.epochs, "shots": shots, "seed": seed,
        "enrolled": [names[i] for i in enroll], "unknown": [names[i] for i in unknown],
        "enrolled_ids": enroll, "unknown_ids": unknown,
        "gallery_images_per_product": {names[i]: int(counts[i]) for i in enroll},
        "enrolled_dev_images": int(enrolled_mask.sum()),
        "enrolled_top1_among_81": float((ranking[enrolled_mask, 0] == fine[enrolled_mask]).mean()),
        "enrolled_top5_among_81": float(
            (ranking[enrolled_mask, :5] == fine[enrolled_mask, None]).any(1).mean()),
        "enrolled_per_product_top1": {
            names[i]: float((ranking[fine == i, 0] == i).mean()) for i in enroll},
        "trained_top1_among_81": float((ranking[trained_mask, 0] == fine[trained_mask]).mean()),
        "open_set_gallery": int(in_gallery.sum()),
        "known_dev_images": int((~unknown_mask).sum()),
        "unknown_dev_images": int(unknown_mask.sum()),
        "open_set_auroc": auroc(unknown_scores, known_scores),
        "open_set_threshold_95_known": threshold,
        "unknown_rejected_at_95_known": float((unknown_scores > threshold).mean()),
        "known_top1_open_gallery": float(
            (open_ranking[~unknown_mask, 0] == fine[~unknown_mask]).mean()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, type=Path)
    parser.add_argument("--data", type=Path, help="dataset folder (default: the checkpoint's)")
    parser.add_argument("--enroll", required=True, help="comma-separated fine ids")
    parser.add_argument("--unknown", required=True, help="comma-separated fine ids")
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    import torch

    from .train import TrainConfig

    torch.set_num_threads(2)
    state = torch.load(args.checkpoint, map_location="cpu")
    data_root = args.data or Path(TrainConfig(**state["config"]).data_root)
    result = run(args.checkpoint, data_root, [int(x) for x in args.enroll.split(",")],
                 [int(x) for x in args.unknown.split(",")], args.shots, args.seed)
    result["command"] = " ".join(["python -m cartsense_training.enroll", *(argv or sys.argv[1:])])
    text = json.dumps(result, indent=2)
    print(text)
    if args.write:
        args.write.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
