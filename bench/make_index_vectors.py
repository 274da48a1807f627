"""Real embeddings for the catalogue index benchmark (issue 5): photos and their augmentations.

Runs the recognizer bundle's ONNX model with onnxruntime (one thread by default) on Grocery
Store photos, preprocessed as training/cartsense_training/preprocessing.py and augmented as
training/cartsense_training/augment.py (the training chain). Writes two vector files:

  OUT/prototypes.vec   train photos: round 0 the clean photo, rounds 1.. one augmentation each
  OUT/queries.vec      held-out dev photos: the clean photo plus --query-augmentations each

Rounds go over all photos before the next round starts, so a run cut short by --max-seconds
still covers every product. File format (little-endian): b"CSVECS01", u32 dimension,
u32 reserved (0), u64 count, then count x dimension float32 rows, then count int32 fine ids.
Vectors go under build/ or /tmp, never into the repository.

  .venv/bin/python bench/make_index_vectors.py --out build/index-vectors \
      --prototypes 100000 --max-seconds 1500
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from cartsense_training.augment import CartAugmentConfig, cart_augment
from cartsense_training.data import load_image_bgr, read_split
from cartsense_training.preprocessing import Preprocessing, normalize, preprocess

MAGIC = b"CSVECS01"
HEADER = struct.Struct("<8sIIQ")


class VectorWriter:
    """Appends rows as they come; the header's count is rewritten at every flush."""

    def __init__(self, path: Path, dimension: int) -> None:
        self.path = path
        self.dimension = dimension
        self.rows = path.with_suffix(".rows.tmp")
        self.labels: list[int] = []
        self.handle = self.rows.open("wb")

    def append(self, embeddings: np.ndarray, labels: list[int]) -> None:
        self.handle.write(np.ascontiguousarray(embeddings, dtype="<f4").tobytes())
        self.labels.extend(labels)

    def close(self) -> int:
        self.handle.close()
        with self.path.open("wb") as out:
            out.write(HEADER.pack(MAGIC, self.dimension, 0, len(self.labels)))
            out.write(self.rows.read_bytes())
            out.write(np.asarray(self.labels, dtype="<i4").tobytes())
        self.rows.unlink()
        return len(self.labels)


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/make_index_vectors.py")
    repo = Path(__file__).resolve().parent.parent
    data = Path("/work/shared/data/grocery-store")
    parser.add_argument("--bundle", default=str(repo / "models/recognizer/v1"))
    parser.add_argument("--train-split", default=str(data / "train.txt"))
    parser.add_argument("--query-split", default=str(data / "dev.txt"))
    parser.add_argument("--out", required=True, help="output folder (outside the repository's "
                        "tracked files: build/... or /tmp/...)")
    parser.add_argument("--prototypes", type=int, default=100_000)
    parser.add_argument("--query-augmentations", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=1500.0,
                        help="stop making prototypes after this long (queries are made first)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = Path(args.bundle)
    pre = Preprocessing.load(bundle / "preprocessing.json")
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(bundle / "model.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    cv2.setNumThreads(1)
    config = CartAugmentConfig()
    started = time.monotonic()
    inference_seconds = 0.0

    def embed(batch: list[np.ndarray]) -> np.ndarray:
        nonlocal inference_seconds
        begin = time.monotonic()
        result = session.run(["embedding"], {pre.input_name: np.stack(batch)})[0]
        inference_seconds += time.monotonic() - begin
        return result

    def shrink(image: np.ndarray) -> np.ndarray:
        # The first step of both the clean rule and the augmentation chain is this INTER_AREA
        # resize of the shorter side to input_size, so doing it once at load changes no output
        # and keeps 2,640 photos in a few hundred MB.
        height, width = image.shape[:2]
        if min(height, width) <= pre.input_size:
            return image
        scale = pre.input_size / min(height, width)
        size = (max(pre.input_size, round(width * scale)), max(pre.input_size, round(height * scale)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    def make(split: Path, writer: VectorWriter, rounds: int, limit: int, deadline: float,
             seed: int) -> None:
        entries = read_split(split)
        images = [shrink(load_image_bgr(entry.path)) for entry in entries]
        batch: list[np.ndarray] = []
        labels: list[int] = []
        written = 0
        for round_index in range(rounds):
            for photo, (entry, image) in enumerate(zip(entries, images, strict=True)):
                if written + len(batch) >= limit or time.monotonic() > deadline:
                    break
                if round_index == 0:
                    tensor = preprocess(image, pre)
                else:
                    rng = np.random.default_rng([seed, round_index, photo])
                    other = images[int(rng.integers(len(images)))]
                    augmented = cart_augment(image, pre.input_size, config, rng,
                                             lambda _rng, other=other: other)
                    tensor = normalize(augmented, pre)
                batch.append(tensor)
                labels.append(entry.fine_id)
                if len(batch) == args.batch:
                    writer.append(embed(batch), labels)
                    written += len(batch)
                    batch, labels = [], []
            else:
                continue
            break
        if batch:
            writer.append(embed(batch), labels)

    dimension = int(session.get_outputs()[0].shape[1])
    queries = VectorWriter(out / "queries.vec", dimension)
    make(Path(args.query_split), queries, 1 + args.query_augmentations, sys.maxsize,
         float("inf"), args.seed + 1000)
    query_count = queries.close()
    query_seconds = time.monotonic() - started

    prototypes = VectorWriter(out / "prototypes.vec", dimension)
    train_photos = len(read_split(Path(args.train_split)))
    rounds = -(-args.prototypes // train_photos)
    make(Path(args.train_split), prototypes, rounds, args.prototypes,
         started + args.max_seconds, args.seed)
    prototype_count = prototypes.close()
    elapsed = time.monotonic() - started
    summary = {
        "prototypes": prototype_count, "queries": query_count, "dimension": dimension,
        "train_photos": train_photos, "seconds": round(elapsed, 1),
        "query_seconds": round(query_seconds, 1),
        "inference_seconds": round(inference_seconds, 1), "threads": args.threads,
        "hit_time_limit": prototype_count < args.prototypes, "out": str(out),
    }
    (out / "summary.json").write_text(json.dumps(summary) + "\n", encoding="utf-8")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
