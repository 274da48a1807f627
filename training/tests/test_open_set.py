from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cartsense_training.open_set import (
    OpenSetModel,
    fit_logistic,
    leave_one_out_sims,
    threshold_keeping,
    top2_features,
    without_own_product,
)

REPO = Path(__file__).resolve().parents[2]


def test_top2_features_use_distinct_products_and_skip_dropped_ones() -> None:
    sims = np.array([[0.9, 0.5, 0.7], [0.2, -np.inf, 0.6]])
    np.testing.assert_allclose(top2_features(sims), [[0.9, 0.2], [0.6, 0.4]])
    # One product in the gallery: top-2 counts as -1.
    np.testing.assert_allclose(top2_features(np.array([[0.3]])), [[0.3, 1.3]])
    np.testing.assert_allclose(top2_features(np.array([[0.3, -np.inf]])), [[0.3, 1.3]])


def test_logistic_fit_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(5)
    features = np.column_stack([rng.uniform(0, 1, 20000), rng.uniform(0, 0.5, 20000)])
    truth = OpenSetModel(bias=4.0, w_top1=-6.0, w_margin=-3.0)
    labels = rng.uniform(size=20000) < truth.probability(features)
    fitted = fit_logistic(features, labels, ridge=0.0)
    assert fitted.bias == pytest.approx(4.0, abs=0.3)
    assert fitted.w_top1 == pytest.approx(-6.0, abs=0.4)
    assert fitted.w_margin == pytest.approx(-3.0, abs=0.5)


def test_logistic_fit_matches_gradient_free_reference() -> None:
    # Naive reference: the log-likelihood is maximal at the IRLS solution (every nearby point
    # is worse).
    rng = np.random.default_rng(11)
    features = rng.normal(size=(400, 2))
    labels = (features[:, 0] + rng.normal(size=400)) > 0

    def log_likelihood(m: OpenSetModel) -> float:
        p = np.clip(m.probability(features), 1e-12, 1 - 1e-12)
        return float(np.sum(labels * np.log(p) + (1 - labels) * np.log(1 - p)))

    best = fit_logistic(features, labels, ridge=0.0)
    for delta in ([0.05, 0, 0], [0, 0.05, 0], [0, 0, 0.05], [-0.05, 0, 0], [0, -0.05, 0]):
        nearby = OpenSetModel(best.bias + delta[0], best.w_top1 + delta[1],
                              best.w_margin + delta[2])
        assert log_likelihood(nearby) < log_likelihood(best)


def test_leave_one_out_removes_the_photos_own_contribution() -> None:
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(6, 4))
    ids = np.array([0, 0, 0, 1, 1, 1])
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    sums = np.stack([unit[:3].sum(0), unit[3:].sum(0)])
    sims = leave_one_out_sims(emb, ids, sums, np.array([3, 3]))
    # Naive: rebuild product 0's prototype from photos 1 and 2 only, score photo 0.
    proto = unit[1:3].mean(0)
    proto /= np.linalg.norm(proto)
    assert sims[0, 0] == pytest.approx(float(unit[0] @ proto))
    other = sums[1] / np.linalg.norm(sums[1])
    assert sims[0, 1] == pytest.approx(float(unit[0] @ other))
    dropped = without_own_product(sims, ids)
    assert np.isneginf(dropped[0, 0]) and np.isneginf(dropped[4, 1])
    assert np.isfinite(dropped[0, 1])
    with pytest.raises(ValueError):
        leave_one_out_sims(emb[:1], ids[:1], unit[:1], np.array([1]))


def test_threshold_keeps_the_asked_fraction() -> None:
    values = np.linspace(0, 1, 101)
    threshold = threshold_keeping(values, 0.95)
    assert float((values < threshold).mean()) == pytest.approx(0.95, abs=0.011)


def test_shipped_open_set_file_is_consistent() -> None:
    path = REPO / "models" / "recognizer" / "v1" / "open_set.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format_version"] == 1
    c = data["coefficients"]
    model = OpenSetModel(c["bias"], c["top1_cosine_weight"], c["margin_weight"])
    # A confident, well-separated match is known; a weak, ambiguous one is not.
    assert model.probability(np.array([[0.95, 0.4]]))[0] < data["threshold"]
    assert model.probability(np.array([[0.3, 0.01]]))[0] >= data["threshold"]
    fit = data["figures"]["fit"]
    assert fit["known_kept_at_threshold"] == pytest.approx(0.95, abs=0.01)
