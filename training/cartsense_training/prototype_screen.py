"""Screens catalogue prototype rules on a bundle's own embeddings (no training).

    python -m cartsense_training.prototype_screen --bundle models/recognizer/v3 \
        --data ../shared/data/grocery-store --cache training/runs/screen-v3 \
        [--model model.int8.onnx]

Embeds the gallery (iconic + train-core photos) and dev once, plain and mirrored left-right, and
caches them (`--cache`). Then scores, on dev, the cart's decision (nearest prototype, no
rejection; a product's score is its best prototype's cosine) for: one mean per product (the
shipped rule), k-means with k = 2..5 per product, every gallery photo as a prototype (1-NN), k-NN
votes, prototypes that also include the mirrored gallery, and test-time flip averaging (the
crop's embedding averaged with its mirror's, which doubles the per-crop cost). Fractions 0-1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from .data import SplitEntry, iconic_entries, load_image_bgr, read_classes, read_split
from .evaluate import Bundle, score_rankings
from .preprocessing import preprocess
from .prototypes import kmeans_prototypes, prototypes_from_embeddings, scores_by_product


def embed(session, entries: list[SplitEntry], pre, flip: bool, batch: int = 16) -> np.ndarray:
    out = []
    for start in range(0, len(entries), batch):
        chunk = entries[start:start + batch]
        images = []
        for entry in chunk:
            image = load_image_bgr(entry.path)
            if flip:
                image = cv2.flip(image, 1)
            images.append(preprocess(image, pre))
        out.append(session.run(None, {pre.input_name: np.stack(images)})[0])
    return np.concatenate(out)


def cached_embeddings(bundle: Bundle, model: str, gallery, dev, cache: Path) -> dict:
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{Path(model).stem}.npz"
    if path.is_file():
        return dict(np.load(path))
    session = bundle.session(model, threads=1)
    data = {
        "gallery": embed(session, gallery, bundle.pre, False),
        "gallery_flip": embed(session, gallery, bundle.pre, True),
        "dev": embed(session, dev, bundle.pre, False),
        "dev_flip": embed(session, dev, bundle.pre, True),
    }
    np.savez(path, **data)
    return data


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn_rankings(queries: np.ndarray, gallery: np.ndarray, gallery_ids: np.ndarray, k: int,
                 num_products: int) -> np.ndarray:
    """Products ranked by a similarity-weighted vote of the k nearest gallery photos; ties and
    products outside the k broken by their best photo's cosine."""
    sims = queries @ gallery.T
    best = scores_by_product(sims, gallery_ids, num_products)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    votes = np.zeros_like(best)
    for row in range(len(queries)):
        for col in order[row]:
            votes[row, gallery_ids[col]] += sims[row, col]
    key = votes * 10.0 + best  # votes first (cosines < 1 each), best cosine breaks ties
    return np.argsort(-key, axis=1, kind="stable")


def screen(data: dict, gallery_ids: np.ndarray, dev: list[SplitEntry], bundle: Bundle,
           seed: int) -> list[dict]:
    n = len(bundle.names)
    fine = np.array([e.fine_id for e in dev])
    coarse = np.array([e.coarse_id for e in dev])
    gal, gal_flip = unit(data["gallery"]), unit(data["gallery_flip"])
    both = np.concatenate([gal, gal_flip])
    both_ids = np.concatenate([gallery_ids, gallery_ids])
    queries = {"plain": unit(data["dev"]),
               "flip-avg (2 passes)": unit(data["dev"] + data["dev_flip"])}
    rules: list[tuple[str, np.ndarray, np.ndarray]] = []
    mean, _ = prototypes_from_embeddings(gal, gallery_ids, n)
    rules.append(("mean (shipped rule)", mean, np.arange(n)))
    mean_both, _ = prototypes_from_embeddings(both, both_ids, n)
    rules.append(("mean, gallery + mirrored", mean_both, np.arange(n)))
    for k in (2, 3, 4, 5, 8):
        protos, ids = kmeans_prototypes(gal, gallery_ids, n, k, seed)
        rules.append((f"k-means k={k}", protos, ids))
        protos, ids = kmeans_prototypes(both, both_ids, n, k, seed)
        rules.append((f"k-means k={k}, gallery + mirrored", protos, ids))
    rules.append(("every gallery photo (1-NN)", gal, gallery_ids))
    results = []
    for qname, q in queries.items():
        for name, protos, ids in rules:
            sims = scores_by_product(q @ protos.T, ids, n)
            ranking = np.argsort(-sims, axis=1, kind="stable")
            r = score_rankings(ranking, fine, coarse, bundle.coarse_of_fine)
            results.append({"query": qname, "rule": name, "prototypes": int(len(protos)), **r})
        for k in (3, 5, 10):
            ranking = knn_rankings(q, gal, gallery_ids, k, n)
            r = score_rankings(ranking, fine, coarse, bundle.coarse_of_fine)
            results.append({"query": qname, "rule": f"k-NN vote k={k}",
                            "prototypes": int(len(gal)), **r})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--data", required=True, help="grocery-store folder")
    parser.add_argument("--cache", required=True, help="folder for the embeddings")
    parser.add_argument("--model", default="model.onnx")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    bundle = Bundle.load(args.bundle)
    root = Path(args.data)
    classes = read_classes(root / "classes.csv")
    gallery = iconic_entries(classes) + read_split(root / "train-core.txt", classes)
    dev = read_split(root / "dev.txt", classes)
    data = cached_embeddings(bundle, args.model, gallery, dev, Path(args.cache))
    results = screen(data, np.array([e.fine_id for e in gallery]), dev, bundle, args.seed)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            print(f"{r['query']:<20} {r['rule']:<36} {r['prototypes']:>5}  top-1 fine "
                  f"{r['top1_fine']:.4f} top-5 {r['top5_fine']:.4f} coarse "
                  f"{r['top1_coarse']:.4f} / {r['top5_coarse']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
