"""Prototype rules screened for recipe v4 (prototypes.py, prototype_screen.py)."""

from __future__ import annotations

import numpy as np

from cartsense_training.prototype_screen import knn_rankings, unit
from cartsense_training.prototypes import (
    kmeans_prototypes,
    prototypes_from_embeddings,
    scores_by_product,
    spherical_kmeans,
)


def _two_modes(rng: np.random.Generator, n: int = 40) -> np.ndarray:
    """Unit vectors around two directions 90 degrees apart (a product loose and bagged)."""
    a = np.array([1.0, 0.0, 0.0]) + rng.normal(0, 0.05, (n, 3))
    b = np.array([0.0, 1.0, 0.0]) + rng.normal(0, 0.05, (n, 3))
    return unit(np.concatenate([a, b]).astype(np.float32))


def test_spherical_kmeans_finds_both_modes_and_is_seeded() -> None:
    data = _two_modes(np.random.default_rng(3))
    centres = spherical_kmeans(data, 2, np.random.default_rng(7))
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1.0, rtol=1e-5)
    # Each mode's direction has a centre within 5 degrees.
    for axis in (0, 1):
        assert centres[:, axis].max() > np.cos(np.radians(5))
    again = spherical_kmeans(data, 2, np.random.default_rng(7))
    np.testing.assert_array_equal(centres, again)
    # Fewer points than k: one centre per point, no empty cluster.
    assert spherical_kmeans(data[:2], 5, np.random.default_rng(0)).shape == (2, 3)


def test_kmeans_k1_is_the_mean_rule_and_rows_are_grouped_by_product() -> None:
    rng = np.random.default_rng(5)
    emb = rng.normal(size=(30, 8)).astype(np.float32)
    ids = rng.integers(0, 4, 30)
    ids[:4] = [0, 1, 2, 3]
    mean, _ = prototypes_from_embeddings(emb, ids, 4)
    protos, rows = kmeans_prototypes(emb, ids, 4, 1, seed=1)
    assert rows.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(protos, mean, atol=1e-6)
    protos, rows = kmeans_prototypes(emb, ids, 4, 3, seed=1)
    assert rows.tolist() == sorted(rows.tolist())
    assert all((rows == f).sum() == min(3, (ids == f).sum()) for f in range(4))


def test_scores_by_product_is_the_best_row_of_each_product() -> None:
    sims = np.array([[0.1, 0.9, 0.3, 0.2], [0.5, -0.2, 0.4, 0.8]], np.float32)
    rows = np.array([0, 0, 2, 2])
    got = scores_by_product(sims, rows, 3)
    # Naive reference, cell by cell.
    for q in range(2):
        assert got[q, 0] == max(sims[q, 0], sims[q, 1])
        assert got[q, 1] == -np.inf  # no prototype row
        assert got[q, 2] == max(sims[q, 2], sims[q, 3])


def test_knn_vote_prefers_the_product_with_more_near_photos() -> None:
    gallery = unit(np.array([[1.0, 0.0], [0.96, 0.28], [0.96, -0.28], [0.99, 0.14]], np.float32))
    ids = np.array([1, 0, 0, 1])
    query = unit(np.array([[1.0, 0.0]], np.float32))
    # 1-NN: product 1 (exact match); 3-NN: photos 0 (p1), 3 (p1), 1 or 2 (p0) -> product 1;
    # with all 4 the two products tie on count and product 1 has the higher summed cosine.
    assert knn_rankings(query, gallery, ids, 1, 2)[0, 0] == 1
    assert knn_rankings(query, gallery, ids, 3, 2)[0, 0] == 1
    ids_b = np.array([1, 0, 0, 0])  # three of product 0 around the query, one exact of 1
    assert knn_rankings(query, gallery, ids_b, 4, 2)[0, 0] == 0
    assert knn_rankings(query, gallery, ids_b, 1, 2)[0, 0] == 1
