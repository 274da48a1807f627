"""Evaluates a model bundle on any split file, scoring the way the cart decides.

    python -m cartsense_training.evaluate --bundle models/recognizer/v1 \
        --split ../shared/data/grocery-store/dev.txt --json

The cart embeds the crop and takes the nearest catalogue prototype (cosine, no rejection); the
coarse prediction is the coarse class of the fine prediction. top-5 coarse ranks coarse classes
by their best-ranked product. `head` gives the same figures from the classifier head's logits,
plus the auxiliary coarse head's own top-1/top-5. Image paths resolve relative to the split
file's folder. Fractions are 0-1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import SplitEntry, SplitFormatError, load_image_bgr, read_split
from .preprocessing import Preprocessing, preprocess


@dataclass
class Bundle:
    folder: Path
    pre: Preprocessing
    names: list[str]  # by fine id
    coarse_of_fine: np.ndarray  # fine id -> coarse id
    coarse_names: dict[int, str]
    head_fine_ids: np.ndarray  # fine head index -> fine id
    prototypes: np.ndarray  # [num products, dim], row = fine id, L2-normalized

    @staticmethod
    def load(folder: str | Path) -> Bundle:
        folder = Path(folder)
        if not (folder / "preprocessing.json").is_file():
            raise FileNotFoundError(f"{folder} is not a model bundle (no preprocessing.json)")
        pre = Preprocessing.load(folder / "preprocessing.json")
        labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
        products = sorted(labels["products"], key=lambda p: p["fine_id"])
        protos = json.loads((folder / "prototypes.json").read_text(encoding="utf-8"))
        matrix = np.asarray(protos["prototypes"], dtype=np.float32)
        return Bundle(
            folder=folder, pre=pre, names=[p["name"] for p in products],
            coarse_of_fine=np.array([p["coarse_id"] for p in products]),
            coarse_names={p["coarse_id"]: p["coarse_name"] for p in products},
            head_fine_ids=np.array(labels["head_fine_ids"]),
            prototypes=matrix,
        )

    def session(self, model_file: str = "model.onnx", threads: int = 0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        return ort.InferenceSession(str(self.folder / model_file), options,
                                    providers=["CPUExecutionProvider"])


def run_model(session, entries: list[SplitEntry], pre: Preprocessing, batch: int = 16
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(embeddings, fine logits, coarse logits) for every entry, in order."""
    outputs: list[list[np.ndarray]] = [[], [], []]
    for start in range(0, len(entries), batch):
        chunk = entries[start:start + batch]
        images = np.stack([preprocess(load_image_bgr(e.path), pre) for e in chunk])
        for slot, value in enumerate(session.run(None, {pre.input_name: images})):
            outputs[slot].append(value)
    return tuple(np.concatenate(o) for o in outputs)  # type: ignore[return-value]


def ranked_coarse(fine_ranking: np.ndarray, coarse_of_fine: np.ndarray, k: int) -> list[int]:
    """The first k distinct coarse classes along a ranked list of fine ids."""
    seen: list[int] = []
    for fine in fine_ranking:
        coarse = int(coarse_of_fine[fine])
        if coarse not in seen:
            seen.append(coarse)
            if len(seen) == k:
                break
    return seen


def score_rankings(rankings: np.ndarray, fine: np.ndarray, coarse: np.ndarray,
                   coarse_of_fine: np.ndarray) -> dict:
    """rankings: [N, >=5] fine ids best first. Fractions, 0-1."""
    top1_fine = rankings[:, 0] == fine
    top5_fine = (rankings[:, :5] == fine[:, None]).any(1)
    coarse_lists = [ranked_coarse(r, coarse_of_fine, 5) for r in rankings]
    top1_coarse = np.array([c[0] == t for c, t in zip(coarse_lists, coarse, strict=True)])
    top5_coarse = np.array([t in c for c, t in zip(coarse_lists, coarse, strict=True)])
    return {
        "top1_fine": float(top1_fine.mean()), "top5_fine": float(top5_fine.mean()),
        "top1_coarse": float(top1_coarse.mean()), "top5_coarse": float(top5_coarse.mean()),
        "images": int(len(fine)),
    }


def prototype_rankings(embeddings: np.ndarray, prototypes: np.ndarray,
                       allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fine ids ranked by cosine similarity (rows best first) and the similarity matrix."""
    sims = embeddings @ prototypes.T
    if allowed is not None:
        sims = np.where(allowed[None, :], sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable"), sims


def per_class_and_confusions(pred: np.ndarray, fine: np.ndarray, names: list[str],
                             top_pairs: int = 10) -> tuple[list[dict], list[dict]]:
    per_class = []
    for fid in sorted(set(fine.tolist())):
        mask = fine == fid
        per_class.append({"fine_id": int(fid), "name": names[fid], "images": int(mask.sum()),
                          "top1": float((pred[mask] == fid).mean())})
    pairs: dict[tuple[int, int], int] = {}
    for truth, guess in zip(fine.tolist(), pred.tolist(), strict=True):
        if truth != guess:
            pairs[(truth, guess)] = pairs.get((truth, guess), 0) + 1
    confused = [{"true": names[t], "predicted": names[p], "count": n}
                for (t, p), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:top_pairs]]
    return per_class, confused


def evaluate_entries(bundle: Bundle, entries: list[SplitEntry], model_file: str = "model.onnx",
                     threads: int = 0, details: bool = False) -> dict:
    for entry in entries:
        if not 0 <= entry.fine_id < len(bundle.names):
            raise SplitFormatError(f"{entry.path}: fine_id {entry.fine_id} is not in the bundle")
        if int(bundle.coarse_of_fine[entry.fine_id]) != entry.coarse_id:
            raise SplitFormatError(f"{entry.path}: coarse_id {entry.coarse_id} disagrees with "
                                   f"the bundle's labels for fine_id {entry.fine_id}")
    session = bundle.session(model_file, threads)
    start = time.time()
    emb, fine_logits, coarse_logits = run_model(session, entries, bundle.pre)
    fine = np.array([e.fine_id for e in entries])
    coarse = np.array([e.coarse_id for e in entries])
    ranking, _ = prototype_rankings(emb, bundle.prototypes)
    result = score_rankings(ranking, fine, coarse, bundle.coarse_of_fine)
    head_ranking = bundle.head_fine_ids[np.argsort(-fine_logits, axis=1, kind="stable")]
    head = score_rankings(head_ranking, fine, coarse, bundle.coarse_of_fine)
    coarse_rank = np.argsort(-coarse_logits, axis=1, kind="stable")
    head["coarse_head_top1"] = float((coarse_rank[:, 0] == coarse).mean())
    head["coarse_head_top5"] = float((coarse_rank[:, :5] == coarse[:, None]).any(1).mean())
    result["head"] = head
    result["model"] = model_file
    result["seconds"] = round(time.time() - start, 1)
    if details:
        per_class, confused = per_class_and_confusions(ranking[:, 0], fine, bundle.names)
        result["per_class"] = per_class
        result["most_confused"] = confused
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True, help="models/recognizer/<version>")
    parser.add_argument("--split", required=True, help="split file: `path, fine_id, coarse_id`")
    parser.add_argument("--model", default="model.onnx", help="model.onnx or model.int8.onnx")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--details", action="store_true", help="per-class accuracy, confusions")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all)")
    args = parser.parse_args(argv)
    try:
        bundle = Bundle.load(args.bundle)
        entries = read_split(args.split)
        result = evaluate_entries(bundle, entries, args.model, args.threads, args.details)
    except (OSError, SplitFormatError, ValueError) as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['images']} images, {args.model}: prototype top-1 fine "
              f"{result['top1_fine']:.4f} top-5 {result['top5_fine']:.4f}, coarse top-1 "
              f"{result['top1_coarse']:.4f} top-5 {result['top5_coarse']:.4f}; head top-1 fine "
              f"{result['head']['top1_fine']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
