"""Writes model.opencv.onnx: the bundle's fp32 model in a form OpenCV 4.6's dnn importer parses.

OpenCV 4.6 rejects the torch 1.13 export of the recognizer: Clip with min/max as inputs (opset
>= 11), the Pad size subgraphs, and ReduceL2 without an axes attribute. This keeps the embedding
branch only, up to the layer before L2 normalization (the C++ embedder normalizes), lets
onnxruntime fold the constant subgraphs, and turns each Clip's constant min/max inputs into
attributes. Same weights, same function (the C++ tests check it against the bundle's model).

    .venv/bin/python src/vision/opencv_compat_model.py models/recognizer/v1/model.onnx OUT.onnx
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper


def make_compat(model_path: Path, out_path: Path, output: str = "embedding") -> None:
    model = onnx.load(str(model_path))
    keep = [o for o in model.graph.output if o.name == output]
    if not keep:
        raise SystemExit(f"{model_path}: no output named {output}")
    del model.graph.output[:]
    model.graph.output.extend(keep)
    with tempfile.TemporaryDirectory() as tmp:
        pruned = Path(tmp) / "pruned.onnx"
        folded = Path(tmp) / "folded.onnx"
        onnx.save(model, str(pruned))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(pruned), options, providers=["CPUExecutionProvider"])
        model = onnx.load(str(folded))
    graph = model.graph
    # Cut before the L2 normalization: the input of the ReduceL2 that feeds the output.
    reduce_l2 = [n for n in graph.node if n.op_type == "ReduceL2"]
    if reduce_l2:
        cut = reduce_l2[-1].input[0]
        last = next(i for i, n in enumerate(graph.node) if cut in n.output)
        nodes = list(graph.node[: last + 1])
        del graph.node[:]
        graph.node.extend(nodes)
        nodes[-1].output[list(nodes[-1].output).index(cut)] = output
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type != "Clip" or len(node.input) == 1:
            continue
        bounds = [float(initializers[name]) if name else None for name in node.input[1:]]
        del node.input[1:]
        for key, value in zip(("min", "max"), bounds, strict=False):
            if value is not None:
                node.attribute.append(helper.make_attribute(key, value))
    used = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.value_info[:]
    shape = [d.dim_param or d.dim_value for d in keep[0].type.tensor_type.shape.dim]
    del graph.output[:]
    graph.output.extend([helper.make_tensor_value_info(output, onnx.TensorProto.FLOAT, shape)])
    onnx.save(model, str(out_path))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    make_compat(args.model, args.out)


if __name__ == "__main__":
    main()
