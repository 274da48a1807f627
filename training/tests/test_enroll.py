from __future__ import annotations

import numpy as np
import pytest

from cartsense_training.enroll import auroc
from cartsense_training.prototypes import prototypes_from_embeddings


def test_auroc_reference_values() -> None:
    assert auroc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert auroc(np.array([0.1]), np.array([0.9])) == 0.0
    assert auroc(np.array([0.5, 0.5]), np.array([0.5])) == 0.5
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(1, 1, 300), rng.normal(0, 1, 400)
    # Naive reference: count every pair.
    naive = np.mean([[1.0 if p > n else 0.5 if p == n else 0.0 for n in neg] for p in pos])
    assert auroc(pos, neg) == pytest.approx(naive)
    with pytest.raises(ValueError):
        auroc(np.array([]), neg)


def test_prototypes_are_normalized_class_means() -> None:
    emb = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]], np.float32)
    protos, counts = prototypes_from_embeddings(emb, [0, 0, 2], 3)
    assert counts.tolist() == [2, 0, 1]
    np.testing.assert_allclose(protos[0], [2 ** -0.5, 2 ** -0.5], rtol=1e-6)
    np.testing.assert_allclose(protos[1], [0, 0])
    np.testing.assert_allclose(np.linalg.norm(protos[2]), 1.0, rtol=1e-6)
