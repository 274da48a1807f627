"""End to end on data/grocery-store-mini: `train --smoke`, the bundle, export and evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from cartsense_training.bundle import sha256_of
from cartsense_training.evaluate import main as evaluate_main
from cartsense_training.export import export_onnx
from cartsense_training.model import ModelConfig, build_model
from cartsense_training.train import TrainConfig, build_data, smoke_config

KEYS = {"top1_fine", "top5_fine", "top1_coarse", "top5_coarse", "images"}


def test_export_round_trip_matches_torch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(input_size=64, num_fine=6, num_coarse=2, pretrained=False))
    model.eval()
    path = export_onnx(model, 64, tmp_path / "m.onnx")
    images = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        expected = [t.numpy() for t in model(images)]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": images.numpy()})
    assert [o.name for o in session.get_outputs()] == ["embedding", "fine_logits", "coarse_logits"]
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=1e-4)


def test_data_order_and_augmentation_are_seeded(mini: Path) -> None:
    def first_batch(seed: int):
        cfg = TrainConfig(data_root=str(mini), input_size=64, batch_size=4, num_workers=0,
                          seed=seed)
        images, fine, _ = next(iter(build_data(cfg).train_loader))
        return images, fine

    a, b, c = first_batch(3), first_batch(3), first_batch(4)
    torch.testing.assert_close(a[0], b[0])
    assert a[1].tolist() == b[1].tolist()
    assert not torch.equal(a[0], c[0])


def test_smoke_run_writes_a_complete_bundle(smoke_run: Path) -> None:
    bundle = smoke_run / "bundle"
    names = {p.name for p in bundle.iterdir()}
    assert {"model.onnx", "model.int8.onnx", "preprocessing.json", "labels.json",
            "prototypes.json", "model_card.md", "metrics.json", "manifest.json",
            "golden.json"} <= names
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert set(manifest["files"]) == names - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == sha256_of(bundle / name)
    protos = json.loads((bundle / "prototypes.json").read_text())
    matrix = np.asarray(protos["prototypes"])
    assert matrix.shape == (81, 128)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    labels = json.loads((bundle / "labels.json").read_text())
    assert len(labels["products"]) == 81 and labels["head_fine_ids"] == list(range(81))
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["torch_onnx_max_abs_diff"] < 1e-4
    assert "model.int8.onnx" in metrics["latency_1thread"]
    card = (bundle / "model_card.md").read_text()
    assert "top-1 fine" in card and "Most confused" in card
    assert sum((bundle / n).stat().st_size for n in names) < 25e6
    assert (smoke_run / "checkpoint.pt").is_file()


@pytest.mark.parametrize("model_file", ["model.onnx", "model.int8.onnx"])
def test_evaluate_json_on_a_split_in_another_folder(smoke_run: Path, mini: Path, tmp_path: Path,
                                                    capsys, model_file: str) -> None:
    # The split lives elsewhere; its paths are relative to its own folder.
    link = tmp_path / "data"
    link.symlink_to(mini)
    lines = (mini / "dev.txt").read_text().splitlines()[:20]
    (tmp_path / "dev20.txt").write_text("\n".join(f"data/{line}" for line in lines) + "\n")
    code = evaluate_main(["--bundle", str(smoke_run / "bundle"), "--split",
                          str(tmp_path / "dev20.txt"), "--model", model_file, "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= KEYS and set(result["head"]) >= KEYS
    assert result["images"] == 20
    for key in KEYS - {"images"}:
        assert 0.0 <= result[key] <= 1.0 and 0.0 <= result["head"][key] <= 1.0
        assert result[key.replace("1", "5")] >= result[key] if "1" in key else True


def test_evaluate_reports_bad_split_clearly(smoke_run: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.txt").write_text("a.jpg, 1\n")
    code = evaluate_main(["--bundle", str(smoke_run / "bundle"), "--split",
                          str(tmp_path / "bad.txt"), "--json"])
    assert code == 2
    assert "bad.txt:1" in capsys.readouterr().err


def test_smoke_config_is_the_full_code_path_on_mini() -> None:
    smoke, full = smoke_config("/tmp/x"), TrainConfig()
    assert smoke.data_root.endswith("grocery-store-mini")
    # Only sizes and counts differ, never the recipe.
    for key in ("lr", "fine_margin", "fine_scale", "coarse_weight", "label_smoothing",
                "frozen_blocks", "iconic_in_train", "train_split", "dev_split"):
        assert getattr(smoke, key) == getattr(full, key)
