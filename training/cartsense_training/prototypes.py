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
