from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "data" / "grocery-store-mini"


@pytest.fixture(scope="session", autouse=True)
def _threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def mini() -> Path:
    assert (MINI / "classes.csv").is_file(), "data/grocery-store-mini is part of the repo"
    return MINI


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """One `train --smoke` run (the real CLI code path), shared by the tests that need a bundle."""
    from cartsense_training.train import main

    out = tmp_path_factory.mktemp("smoke")
    assert main(["--smoke", "--out", str(out)]) == 0
    return out
