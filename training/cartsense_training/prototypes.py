"""Catalogue prototypes: one L2-normalized mean embedding per product.

A product's prototype is the mean of its images' normalized embeddings, normalized again. The
same function enrolls a new product from a handful of photos, without retraining.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .data import SplitEntry


def prototypes_from_embeddings(embeddings: np.ndarray, fine_ids: Sequence[int],
                               num_products: int) -> tuple[np.ndarray, np.ndarray]:
    """(prototypes [num_products, dim], image count per product). Rows with no image are 0."""
    fine_ids = np.asarray(fine_ids)
    dim = embeddings.shape[1]
    protos = np.zeros((num_products, dim), dtype=np.float32)
    counts = np.zeros(num_products, dtype=np.int64)
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    for fid in range(num_products):
        mask = fine_ids == fid
        counts[fid] = int(mask.sum())
        if counts[fid]:
            mean = unit[mask].mean(0)
            protos[fid] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return protos, counts


def spherical_kmeans(unit: np.ndarray, k: int, rng: np.random.Generator,
                     iterations: int = 50) -> np.ndarray:
    """k unit-norm centres of unit-norm rows (cosine k-means, k-means++ seeding).

    Written here because the venv has no scikit-learn and cv2.kmeans clusters by Euclidean
    distance with OpenCV's global RNG; on unit vectors this is the cosine version, seeded.
    """
    k = min(k, len(unit))
    centres = [unit[int(rng.integers(len(unit)))]]
    while len(centres) < k:
        dist = 1.0 - np.max(unit @ np.stack(centres).T, axis=1)
        dist = np.maximum(dist, 0.0)
        if dist.sum() <= 0:
            break
        centres.append(unit[int(rng.choice(len(unit), p=dist / dist.sum()))])
    c = np.stack(centres)
    assign = np.full(len(unit), -1)
    for _ in range(iterations):
        new = np.argmax(unit @ c.T, axis=1)
        if np.array_equal(new, assign):
            break
        assign = new
        for j in range(len(c)):
            members = unit[assign == j]
            if len(members):
                mean = members.mean(0)
                c[j] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return c.astype(np.float32)


def kmeans_prototypes(embeddings: np.ndarray, fine_ids: Sequence[int], num_products: int,
                      k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to k prototypes per product (cosine k-means over its images): (rows [M, dim], fine id
    of each row), rows grouped by fine id in increasing order. k=1 is the mean rule."""
    fine_ids = np.asarray(fine_ids)
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    rows, ids = [], []
    for fid in range(num_products):
        mine = unit[fine_ids == fid]
        if not len(mine):
            continue
        rng = np.random.default_rng([seed, fid])
        centres = spherical_kmeans(mine, k, rng)
        rows.append(centres)
        ids += [fid] * len(centres)
    return np.concatenate(rows).astype(np.float32), np.array(ids, dtype=np.int64)


def scores_by_product(sims: np.ndarray, row_fine_ids: np.ndarray, num_products: int) -> np.ndarray:
    """Per-product score = the best cosine over the product's prototype rows ([N, products];
    -inf for a product with no row). The cart's recognizer reports the same maximum."""
    out = np.full((sims.shape[0], num_products), -np.inf, dtype=np.float32)
    for fid in np.unique(row_fine_ids):
        out[:, fid] = sims[:, row_fine_ids == fid].max(axis=1)
    return out


def embed_entries(session, entries: Sequence[SplitEntry], pre) -> np.ndarray:
    from .evaluate import run_model

    return run_model(session, list(entries), pre)[0]


def save_prototypes(path: Path, prototypes: np.ndarray, counts: np.ndarray, names: list[str],
                    source: str) -> None:
    data = {
        "format_version": 1,
        "dim": int(prototypes.shape[1]),
        "count": int(prototypes.shape[0]),
        "metric": "cosine (dot product of L2-normalized vectors)",
        "source": source,
        "row_order": "fine_id",
        "names": names,
        "images_per_product": [int(c) for c in counts],
        "prototypes": [[round(float(v), 7) for v in row] for row in prototypes],
    }
    Path(path).write_text(json.dumps(data) + "\n", encoding="utf-8")
