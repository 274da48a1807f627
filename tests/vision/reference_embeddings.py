"""Reference embeddings for the C++ parity test: onnxruntime on a bundle's model, with the
bundle's own OpenCV preprocessing (cartsense_training.preprocessing), one image at a time.

    .venv/bin/python tests/vision/reference_embeddings.py BUNDLE MODEL_FILE OUT IMAGE...

OUT gets one line per image: the image path, then the embedding's values.
"""

from __future__ import annotations

import sys
from pathlib import Path

import onnxruntime as ort
from cartsense_training.data import load_image_bgr
from cartsense_training.preprocessing import Preprocessing, preprocess


def main(argv: list[str]) -> int:
    bundle, model_file, out, *images = argv
    pre = Preprocessing.load(Path(bundle) / "preprocessing.json")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(Path(bundle) / model_file), options, providers=["CPUExecutionProvider"]
    )
    lines = []
    for image in images:
        tensor = preprocess(load_image_bgr(Path(image)), pre)[None]
        embedding = session.run(["embedding"], {pre.input_name: tensor})[0][0]
        lines.append(image + " " + " ".join(f"{v:.9g}" for v in embedding))
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
