"""Open-set calibration: how likely a crop is NOT a catalogue product.

    python -m cartsense_training.open_set --bundle models/recognizer/v1 \
        --data /work/shared/data/grocery-store --write

Features of one crop against the gallery (one prototype per product, cosine):
  top1_cosine  the best product's cosine,
  margin       top1_cosine minus the second-best *distinct* product's cosine (top-2 = -1 when
               the gallery holds one product).
Score: p_not_in_catalogue = sigmoid(bias + w_top1 * top1_cosine + w_margin * margin), a logistic
regression fitted by Newton's method (IRLS) in numpy with a small ridge (deterministic, no
library needed for three coefficients).

Unknown surrogate: leave one product out. A photo of product p, scored against the gallery
without p, stands for a crop of a product the store does not list; the same photo against the
full gallery is a known crop. Both classes come from the same photos, so the fit sees 50/50
classes: the probability is calibrated for that prior (a cart sees far fewer unknowns; the
threshold, not the 0.5 point, is what the reasoner uses).

Which photos: not dev (dev is where the figures are reported, and val is inside dev, so the
grocery store data has no photo outside train-core and dev). The fit uses train-core photos,
each with its own contribution removed from its product's prototype (the prototypes are the
mean of iconic + train-core embeddings; photo i's known prototype is the mean without photo i).
Bias that remains: the network was trained on these photos, so their cosines to their own
product are higher than a new photo's. The threshold picked on them (keep 95% of known crops)
therefore keeps fewer than 95% of unseen known crops; the dev figures in open_set.json say by
how much, and the threshold is not re-tuned on dev.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import SplitEntry, read_classes, read_split
from .enroll import auroc
from .evaluate import Bundle
from .prototypes import embed_entries

FORMAT_VERSION = 1
KNOWN_KEPT = 0.95


def top2_features(sims: np.ndarray) -> np.ndarray:
    """[N, products] cosines (-inf = not in the gallery) -> [N, 2]: top1 cosine, top1 - top2."""
    ordered = -np.sort(-sims, axis=1)
    top1 = ordered[:, 0]
    top2 = ordered[:, 1] if sims.shape[1] > 1 else np.full(len(sims), -1.0)
    top2 = np.where(np.isfinite(top2), top2, -1.0)
    return np.stack([top1, top1 - top2], axis=1)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class OpenSetModel:
    bias: float
    w_top1: float
    w_margin: float

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(not a catalogue product) for [N, 2] features (top1 cosine, margin)."""
        return sigmoid(self.bias + features[:, 0] * self.w_top1 + features[:, 1] * self.w_margin)


def fit_logistic(features: np.ndarray, is_unknown: np.ndarray, ridge: float = 1e-3,
                 iterations: int = 50) -> OpenSetModel:
    """Maximum likelihood logistic regression (ridge on the weights, not the bias) by IRLS."""
    x = np.hstack([np.ones((len(features), 1)), np.asarray(features, np.float64)])
    y = np.asarray(is_unknown, np.float64)
    penalty = ridge * len(x) * np.diag([0.0, 1.0, 1.0])
    beta = np.zeros(3)
    for _ in range(iterations):
        p = sigmoid(x @ beta)
        gradient = x.T @ (y - p) - penalty @ beta
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return OpenSetModel(bias=float(beta[0]), w_top1=float(beta[1]), w_margin=float(beta[2]))


def leave_one_out_sims(embeddings: np.ndarray, fine_ids: np.ndarray, gallery_sums: np.ndarray,
                       gallery_counts: np.ndarray) -> np.ndarray:
    """Cosines of gallery photos to every prototype, each photo's own embedding removed from its
    product's prototype (prototype = normalized mean of unit embeddings)."""
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    protos = gallery_sums / np.linalg.norm(gallery_sums, axis=1, keepdims=True)
    sims = unit @ protos.T
    own_sums = gallery_sums[fine_ids] - unit
    if (gallery_counts[fine_ids] < 2).any():
        raise ValueError("a product has a single gallery image: cannot leave it out")
    own_protos = own_sums / np.linalg.norm(own_sums, axis=1, keepdims=True)
    sims[np.arange(len(unit)), fine_ids] = (unit * own_protos).sum(1)
    return sims


def without_own_product(sims: np.ndarray, fine_ids: np.ndarray) -> np.ndarray:
    dropped = sims.copy()
    dropped[np.arange(len(sims)), fine_ids] = -np.inf
    return dropped


def threshold_keeping(known_probabilities: np.ndarray, kept: float = KNOWN_KEPT) -> float:
    """The probability at or above which a crop is 'not in the catalogue', chosen so that a
    fraction `kept` of the known crops stays below it."""
    return float(np.quantile(known_probabilities, kept, method="higher"))


def separation(model: OpenSetModel, threshold: float, known: np.ndarray, unknown: np.ndarray
               ) -> dict:
    p_known, p_unknown = model.probability(known), model.probability(unknown)
    return {
        "auroc_calibrated": auroc(p_unknown, p_known),
        "auroc_one_minus_top1": auroc(-unknown[:, 0], -known[:, 0]),
        "known_kept_at_threshold": float((p_known < threshold).mean()),
        "unknown_rejected_at_threshold": float((p_unknown >= threshold).mean()),
        "known_crops": len(known), "unknown_crops": len(unknown),
        # For comparison only (not what ships): the threshold these crops would have needed.
        "threshold_keeping_95_known_here": threshold_keeping(p_known),
    }


def embeddings_cached(bundle: Bundle, entries: list[SplitEntry], cache: Path | None,
                      name: str) -> np.ndarray:
    if cache is not None and (cache / f"{name}.npy").is_file():
        emb = np.load(cache / f"{name}.npy")
        if len(emb) == len(entries):
            return emb
    emb = embed_entries(bundle.session("model.onnx"), entries, bundle.pre)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(cache / f"{name}.npy", emb)
    return emb


def calibrate(bundle_dir: Path, data_root: Path, cache: Path | None = None) -> dict:
    bundle = Bundle.load(bundle_dir)
    classes = read_classes(data_root / "classes.csv")
    train = read_split(data_root / "train-core.txt", classes)
    dev = read_split(data_root / "dev.txt", classes)
    iconic = [SplitEntry(c.iconic_path, c.fine_id, c.coarse_id) for c in classes]
    num = len(classes)

    iconic_emb = embeddings_cached(bundle, iconic, cache, "iconic")
    train_emb = embeddings_cached(bundle, train, cache, "train_core")
    dev_emb = embeddings_cached(bundle, dev, cache, "dev")
    train_ids = np.array([e.fine_id for e in train])
    dev_ids = np.array([e.fine_id for e in dev])

    gallery_emb = np.vstack([iconic_emb, train_emb])
    gallery_ids = np.concatenate([np.arange(num), train_ids])
    unit = gallery_emb / np.linalg.norm(gallery_emb, axis=1, keepdims=True)
    sums = np.zeros((num, unit.shape[1]))
    np.add.at(sums, gallery_ids, unit)
    counts = np.bincount(gallery_ids, minlength=num)
    rebuilt = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    prototype_error = float(np.abs(rebuilt - bundle.prototypes).max())
    if prototype_error > 1e-4:
        raise ValueError(f"{bundle_dir}/prototypes.json is not the mean of iconic + train-core "
                         f"embeddings (max |diff| {prototype_error:.2e})")

    loo = leave_one_out_sims(train_emb, train_ids, sums, counts)
    fit_known = top2_features(loo)
    fit_unknown = top2_features(without_own_product(loo, train_ids))
    features = np.vstack([fit_known, fit_unknown])
    labels = np.concatenate([np.zeros(len(fit_known)), np.ones(len(fit_unknown))])
    model = fit_logistic(features, labels)
    threshold = threshold_keeping(model.probability(fit_known))

    dev_sims = dev_emb @ bundle.prototypes.T
    dev_known = top2_features(dev_sims)
    dev_unknown = top2_features(without_own_product(dev_sims, dev_ids))
    return {
        "format_version": FORMAT_VERSION,
        "score": "p_not_in_catalogue = 1 / (1 + exp(-(bias + top1_cosine * top1_cosine_weight "
                 "+ margin * margin_weight))); margin = top-1 minus top-2 distinct product "
                 "cosine (top-2 = -1 if the gallery has one product)",
        "coefficients": {"bias": model.bias, "top1_cosine_weight": model.w_top1,
                         "margin_weight": model.w_margin},
        "threshold": threshold,
        "decision": "not in catalogue when p_not_in_catalogue >= threshold",
        "fitted": {
            "method": "logistic regression (IRLS, ridge 1e-3 on the weights), numpy",
            "photos": f"train-core.txt ({len(train)} photos), each against the prototypes "
                      "rebuilt without its own embedding (known) and against the gallery "
                      "without its product (unknown surrogate, leave one product out)",
            "prior": "50% unknown (one known and one unknown sample per photo)",
            "threshold_rule": f"keeps {KNOWN_KEPT:.0%} of the known fit samples",
            "bias_note": "the network was trained on these photos, so known cosines are higher "
                         "than on new photos; see "
                         "figures.dev_leave_one_product_out.known_kept_at_threshold",
            "prototype_rebuild_max_abs_diff": prototype_error,
            "model_file": "model.onnx (onnxruntime)",
        },
        "figures": {
            "fit": separation(model, threshold, fit_known, fit_unknown),
            "dev_leave_one_product_out": separation(model, threshold, dev_known, dev_unknown),
        },
    }


def real_unknown_figures(open_set: dict, checkpoint: Path, data_root: Path, unknown: list[int],
                         enroll: list[int], shots: int = 5, seed: int = 7) -> dict:
    """The enroll checkpoint (trained without the `unknown` and `enroll` products): the gallery
    has every product but `unknown` (the enrolled ones from iconic + `shots` photos, as
    enroll.py does); dev photos of `unknown` products are real never-seen products."""
    import tempfile

    import onnxruntime as ort

    from .enroll import pick_shots
    from .export import export_onnx
    from .preprocessing import Preprocessing
    from .prototypes import prototypes_from_embeddings
    from .train import load_trained_model

    model, cfg = load_trained_model(checkpoint)
    classes = read_classes(data_root / "classes.csv")
    train = read_split(data_root / cfg.train_split, classes)
    dev = read_split(data_root / cfg.dev_split, classes)
    pre = Preprocessing(input_size=cfg.input_size)
    gallery = [SplitEntry(c.iconic_path, c.fine_id, c.coarse_id) for c in classes
               if c.fine_id not in unknown]
    for c in classes:
        if c.fine_id in enroll:
            gallery += pick_shots(train, c.fine_id, shots, seed)
        elif c.fine_id not in unknown:
            gallery += [e for e in train if e.fine_id == c.fine_id]
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, cfg.input_size, Path(tmp) / "model.onnx")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        gallery_emb = embed_entries(session, gallery, pre)
        dev_emb = embed_entries(session, dev, pre)
    protos, counts = prototypes_from_embeddings(gallery_emb, [e.fine_id for e in gallery],
                                                len(classes))
    sims = np.where(counts[None, :] > 0, dev_emb @ protos.T, -np.inf)
    features = top2_features(sims)
    is_unknown = np.isin([e.fine_id for e in dev], unknown)
    c = open_set["coefficients"]
    scorer = OpenSetModel(c["bias"], c["top1_cosine_weight"], c["margin_weight"])
    result = separation(scorer, open_set["threshold"], features[~is_unknown],
                        features[is_unknown])
    result.update({"checkpoint": str(checkpoint), "unknown_ids": unknown, "enrolled_ids": enroll,
                   "note": "coefficients and threshold fitted on the bundle's model, applied "
                           "to the enroll model's cosines"})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True, type=Path)
    parser.add_argument("--data", required=True, type=Path, help="grocery store dataset folder")
    parser.add_argument("--cache", type=Path, help="folder to keep embeddings between runs")
    parser.add_argument("--enroll-checkpoint", type=Path,
                        help="also score real never-seen products with this checkpoint")
    parser.add_argument("--unknown", default="15,77,11,80,47")
    parser.add_argument("--enroll", default="16,23,68,70,22,60,78,6")
    parser.add_argument("--write", action="store_true", help="write <bundle>/open_set.json")
    args = parser.parse_args(argv)
    try:
        result = calibrate(args.bundle, args.data, args.cache)
        if args.enroll_checkpoint:
            import torch

            torch.set_num_threads(2)
            result["figures"]["dev_real_unknown_enroll_model"] = real_unknown_figures(
                result, args.enroll_checkpoint, args.data,
                [int(x) for x in args.unknown.split(",")],
                [int(x) for x in args.enroll.split(",")])
    except (OSError, ValueError) as error:
        print(f"open_set: {error}", file=sys.stderr)
        return 2
    result["command"] = " ".join(["python -m cartsense_training.open_set",
                                  *(argv if argv is not None else sys.argv[1:])])
    text = json.dumps(result, indent=2)
    print(text)
    if args.write:
        (args.bundle / "open_set.json").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
