"""Train and evaluate one classifier: ``fit(TrainConfig(...)) -> metrics``; ``hybrid train`` on the CLI.

AdamW with a cosine learning-rate schedule, early stopping on validation (the best weights
are restored before the test set is touched), and a checkpoint written atomically after
every epoch. ``resume=True`` continues from the last checkpoint: it holds the model,
optimiser, scheduler, early-stopping state, history and every random state (torch CPU and
CUDA, numpy, Python, the shuffling generator), so a run killed at any point, even by
SIGKILL mid-epoch, finishes with the same history and metrics as one never interrupted
(wall-clock fields aside). Checkpoints hold only tensors and plain Python values and load
with ``torch.load(..., weights_only=True)``.

Data-parallel: under ``torchrun --nproc_per_node N -m hybrid.cli train ...`` each process
trains on every N-th row of each batch and DDP averages the gradients (gloo on CPU, NCCL on
CUDA), which reproduces the one-process run for models without BatchNorm or dropout (those
see per-process batches and random masks); only rank 0 writes files. The bit-exact resume guarantee is
for one process (rank 0's random state is what a checkpoint holds).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .data import DATASET_NAMES, Splits, load_dataset
from ._checks import non_negative_int, positive_int
from .models import MODEL_INFO, MODEL_NAMES, build_model, check_compatible, count_parameters
from .sim.device import resolve_device

__all__ = ["TrainConfig", "fit", "add_arguments", "main_from_args", "CHECKPOINT", "METRICS"]

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"
MONITORS = ("val_loss", "val_accuracy")
# Circuits have few, periodic parameters and want larger steps than the CNN's 3e-3. On
# digits (seeds 0, 1, 2; 30 epochs) hybrid-cnn reached 0.964, 0.983, 0.950 at 0.01 and
# 0.919, -, 0.975 at 0.02 (an earlier version at 3e-3 still had train loss 0.55 at epoch 30).
# A family's twin and -noent variant get the same rate, so ablations change one thing only.
_DEFAULT_LR = {"vqc": 0.03, "hybrid-cnn": 0.01, "hybrid-mlp": 0.01, "quanv": 0.01}
# Fields that may change between a run and its resumption without changing the result.
_RUNTIME_FIELDS = ("out", "resume", "progress", "device")


@dataclass
class TrainConfig:
    """Everything that decides a training run. ``lr=None`` picks a per-family default
    (0.03 for ``vqc``, 0.01 for the dressed hybrids, quanv and their twins, 3e-3 otherwise);
    ``patience=0`` turns early stopping off."""

    model: str
    dataset: str
    epochs: int = 30
    seed: int = 0
    split_seed: int | None = None  # None: ``seed`` also draws the train/val/test split
    lr: float | None = None
    weight_decay: float = 1e-4
    batch_size: int = 64
    patience: int = 10
    monitor: str = "val_loss"
    device: str = "auto"
    out: str | None = None
    resume: bool = False
    n_features: int | None = None
    n_qubits: int | None = None
    n_layers: int | None = None
    entangling: bool = True
    model_options: dict[str, Any] = field(default_factory=dict)
    data_options: dict[str, Any] = field(default_factory=dict)
    progress: bool = True

    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else _DEFAULT_LR.get(MODEL_INFO[self.model].family, 3e-3)


# ---------------------------------------------------------------- validation


def _check_config(config: TrainConfig) -> None:
    if config.model not in MODEL_NAMES:
        raise ValueError(f"unknown model {config.model!r}; valid: {', '.join(MODEL_NAMES)}")
    if config.dataset not in DATASET_NAMES and not config.dataset.startswith("digits-"):
        raise ValueError(f"unknown dataset {config.dataset!r}; valid: {', '.join(DATASET_NAMES)} (or any 'digits-AvB')")
    positive_int(config.epochs, "epochs")
    positive_int(config.batch_size, "batch_size")
    non_negative_int(config.patience, "patience (epochs without improvement; 0 = off)")
    if config.monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {', '.join(MONITORS)}; got {config.monitor!r}")
    if config.out is not None:
        out = Path(config.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out} is a file; give a directory")
        if not config.resume and out.is_dir() and any(out.iterdir()):
            raise ValueError(f"output directory {out} is not empty; pass --resume to continue the run in it, or choose another --out")


def _identity(config: TrainConfig) -> dict:
    """The fields a resumed run must share with the run that wrote the checkpoint."""
    d = asdict(config)
    for key in _RUNTIME_FIELDS:
        d.pop(key)
    return json.loads(json.dumps(d))  # tuples -> lists, so a reloaded copy compares equal


# ---------------------------------------------------------------- random states


def _rng_state(shuffle: torch.Generator) -> dict:
    """Every random state, as tensors and plain values (weights_only-loadable)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, mt, gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "shuffle": shuffle.get_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "state": torch.tensor(mt, dtype=torch.int64), "gauss": gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, shuffle: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    shuffle.set_state(state["shuffle"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


@contextlib.contextmanager
def _deterministic(device: torch.device):
    """Deterministic kernels on CUDA for the run only; the caller's setting comes back afterwards.

    The CPU kernels these models use are deterministic already (the tests check that two
    runs agree bit for bit), and switching the flag imports torch's compiler stack, which
    costs seconds, so it is only switched where it matters.
    """
    if device.type != "cuda":
        yield
        return
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)  # warn, not fail, on ops without one
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


# ---------------------------------------------------------------- files


def _atomic_write(path: Path, write) -> None:
    """Write via a temp file in the same directory, fsync it, then rename over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _save_json(path: Path, obj: dict) -> None:
    _atomic_write(path, lambda fh: fh.write(json.dumps(obj, indent=2).encode()))


def _cpu_copy(state_dict: dict) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in state_dict.items()}


# ---------------------------------------------------------------- one epoch


def _evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over ``(X, y)``, without gradients."""
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            logits = model(X[i : i + batch_size])
            loss_sum += nn.functional.cross_entropy(logits, y[i : i + batch_size], reduction="sum").item()
            correct += int((logits.argmax(dim=1) == y[i : i + batch_size]).sum())
    return loss_sum / len(X), correct / len(X)


def _train_epoch(model, optimizer, X, y, batch_size: int, shuffle: torch.Generator, rank: int = 0, world: int = 1) -> tuple[float, float]:
    """One pass over the training data in a seeded random order; returns mean loss and accuracy.

    Data-parallel (``world > 1``): every process draws the same order and takes every
    ``world``-th row of each batch, so the averaged gradient is the whole batch's (exactly
    when ``world`` divides the batch). A final batch smaller than ``world`` is skipped.
    """
    model.train()
    order = torch.randperm(len(X), generator=shuffle).to(X.device)
    totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, rows seen
    for i in range(0, len(X), batch_size):
        batch = order[i : i + batch_size]
        if len(batch) < world:
            continue
        idx = batch[rank::world]
        logits = model(X[idx])
        loss = nn.functional.cross_entropy(logits, y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        totals += torch.tensor([loss.item() * len(idx), int((logits.argmax(dim=1) == y[idx]).sum()), len(idx)], dtype=torch.float64)
    if world > 1:  # NCCL reduces only device tensors
        totals = totals.to(X.device)
        torch.distributed.all_reduce(totals)
    return (totals[0] / totals[2]).item(), (totals[1] / totals[2]).item()


def _distributed(device: torch.device) -> tuple[int, int, torch.device, bool]:
    """``(rank, world size, device, joined)``: under ``torchrun`` (``WORLD_SIZE`` > 1) joins
    the process group (gloo on CPU, NCCL on CUDA) unless the caller already did."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, device, False
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    joined = not torch.distributed.is_initialized()
    if joined:
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return torch.distributed.get_rank(), world, device, joined


def _improved(config: TrainConfig, entry: dict, best: float | None) -> bool:
    value = entry[config.monitor]
    if best is None:
        return True
    return value < best - 1e-6 if config.monitor == "val_loss" else value > best + 1e-9


# ---------------------------------------------------------------- fit


def _load_data(config: TrainConfig) -> Splits:
    split_seed = config.seed if config.split_seed is None else config.split_seed
    splits = load_dataset(config.dataset, seed=split_seed, n_features=config.n_features, **config.data_options)
    check_compatible(config.model, splits.input_shape)
    return splits


def fit(config: TrainConfig) -> dict:
    """Train ``config.model`` on ``config.dataset``; return (and write to ``out/metrics.json``) the metrics.

    Returns a dict with ``test_accuracy``, ``test_loss``, ``val_accuracy`` and ``val_loss``
    (of the restored best epoch), ``best_epoch``, ``n_params``, ``train_seconds``,
    ``inference_seconds`` (the test set), ``device``, ``epochs_run``, ``stopped_early``,
    ``history`` (one dict per epoch: epoch, train_loss, val_loss, train_accuracy,
    val_accuracy, seconds, lr) and ``config``.
    """
    _check_config(config)
    out = Path(config.out) if config.out is not None else None
    if out is not None and config.resume and (out / METRICS).exists():  # the run already finished
        finished = json.loads((out / METRICS).read_text())
        _check_same_settings(finished.get("config", {}), config, out / METRICS)
        return finished
    rank, world, device, joined = _distributed(resolve_device(config.device))
    try:
        with _deterministic(device):
            return _fit(config, out if rank == 0 else None, device, rank, world)
    finally:
        if joined:
            torch.distributed.destroy_process_group()


def _fit(config: TrainConfig, out: Path | None, device: torch.device, rank: int = 0, world: int = 1) -> dict:
    """The training loop; in a data-parallel run only rank 0 gets ``out`` and writes files."""
    _seed_everything(config.seed)
    splits = _load_data(config)
    model = build_model(
        config.model, input_shape=splits.input_shape, n_classes=splits.n_classes, n_qubits=config.n_qubits,
        n_layers=config.n_layers, entangling=config.entangling, **config.model_options,
    ).to(device)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = ((X.to(device), y.to(device)) for X, y in (splits.train, splits.val, splits.test))
    # DDP averages gradients over processes; evaluation and checkpoints use the bare model.
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate(), weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    shuffle = torch.Generator().manual_seed(config.seed)
    run = {"history": [], "best": None, "best_epoch": 0, "best_state": _cpu_copy(model.state_dict()), "bad_epochs": 0, "stopped": False}
    resume_from = Path(config.out) / CHECKPOINT if config.out is not None and config.resume else None
    if resume_from is not None and resume_from.exists():  # every rank restores the same state
        run = _restore(resume_from, config, model, optimizer, scheduler, shuffle)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    bar = tqdm(total=config.epochs, initial=len(run["history"]), desc=f"{config.model} on {config.dataset}", disable=not config.progress or rank > 0, file=sys.stderr)
    while len(run["history"]) < config.epochs and not run["stopped"]:
        start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_acc = _train_epoch(net, optimizer, Xtr, ytr, config.batch_size, shuffle, rank, world)
        scheduler.step()
        val_loss, val_acc = _evaluate(model, Xva, yva)
        entry = {"epoch": len(run["history"]) + 1, "train_loss": train_loss, "val_loss": val_loss, "train_accuracy": train_acc,
                 "val_accuracy": val_acc, "seconds": time.perf_counter() - start, "lr": lr}  # fmt: skip
        run["history"].append(entry)
        if _improved(config, entry, run["best"]):
            run.update(best=entry[config.monitor], best_epoch=entry["epoch"], best_state=_cpu_copy(model.state_dict()), bad_epochs=0)
        else:
            run["bad_epochs"] += 1
            run["stopped"] = config.patience > 0 and run["bad_epochs"] >= config.patience
        if out is not None:
            _checkpoint(out / CHECKPOINT, config, model, optimizer, scheduler, shuffle, run)
        bar.update(1)
        bar.set_postfix(loss=f"{train_loss:.3f}", val_acc=f"{val_acc:.3f}")
    bar.close()

    metrics = _final_metrics(config, model, run, splits, device, (Xva, yva), (Xte, yte))
    if out is not None:
        _save_json(out / METRICS, metrics)
    return metrics


def _final_metrics(config, model, run, splits, device, val, test) -> dict:
    model.load_state_dict(run["best_state"])  # early stopping: test the best validation epoch
    val_loss, val_acc = _evaluate(model, *val)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    test_loss, test_acc = _evaluate(model, *test)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    inference = time.perf_counter() - start
    history = run["history"]
    return {
        "model": config.model, "dataset": config.dataset, "seed": config.seed, "device": str(device),
        "test_accuracy": test_acc, "test_loss": test_loss, "val_accuracy": val_acc, "val_loss": val_loss,
        "best_epoch": run["best_epoch"], "epochs_run": len(history), "stopped_early": run["stopped"],
        "n_params": count_parameters(model), "n_classes": splits.n_classes, "input_shape": list(splits.input_shape),
        "n_train": len(splits.train[1]), "n_val": len(splits.val[1]), "n_test": len(splits.test[1]),
        "train_seconds": sum(e["seconds"] for e in history), "inference_seconds": inference,
        "history": history, "config": asdict(config),
    }  # fmt: skip


def _checkpoint(path: Path, config, model, optimizer, scheduler, shuffle, run) -> None:
    state = {
        "config": _identity(config),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": _rng_state(shuffle),
        "run": run,
    }
    _atomic_write(path, lambda fh: torch.save(state, fh))


def _check_same_settings(stored: dict, config: TrainConfig, path: Path) -> None:
    """Refuse to resume (or to report a finished run) under settings other than the ones it ran with."""
    wanted = _identity(config)
    diff = sorted(k for k in wanted if stored.get(k) != wanted[k])
    if diff:
        raise ValueError(f"{path} was written by a run with different settings ({', '.join(diff)}); resume with the same settings or use another --out")


def _restore(path: Path, config, model, optimizer, scheduler, shuffle) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=True)
    _check_same_settings(state["config"], config, path)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"], shuffle)
    return state["run"]


# ---------------------------------------------------------------- command line


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a bare word stays a string


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``hybrid train`` options to ``parser``."""
    parser.add_argument("--model", required=True, help=f"one of: {', '.join(MODEL_NAMES)}")
    parser.add_argument("--dataset", required=True, help=f"one of: {', '.join(DATASET_NAMES)}, or digits-AvB")
    parser.add_argument("--epochs", type=int, default=30, help="maximum epochs (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the split, initialisation and shuffling (default 0)")
    parser.add_argument("--lr", type=float, default=None, help="AdamW learning rate (default 3e-3; 0.01 hybrid-cnn/-mlp/quanv families; 0.03 vqc)")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    parser.add_argument("--batch-size", type=int, default=64, help="mini-batch size (default 64)")
    parser.add_argument("--patience", type=int, default=10, help="early-stopping patience in epochs; 0 = off (default 10)")
    parser.add_argument("--monitor", choices=MONITORS, default="val_loss", help="early-stopping criterion (default val_loss)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    parser.add_argument("--out", default=None, help="directory for checkpoint.pt and metrics.json")
    parser.add_argument("--resume", action="store_true", help="continue the run whose checkpoint is in --out")
    parser.add_argument("--n-features", type=int, default=None, help="PCA to this many features (fitted on train)")
    parser.add_argument("--n-qubits", type=int, default=None, help="qubits of the quantum part (model default)")
    parser.add_argument("--n-layers", type=int, default=None, help="ansatz layers (model default)")
    parser.add_argument("--no-entangling", action="store_true", help="drop the entangling gates (as the -noent models)")
    parser.add_argument("--option", type=_key_value, action="append", default=[], metavar="KEY=VALUE", help="model option, e.g. hidden=32 (repeatable)")
    parser.add_argument("--data-option", type=_key_value, action="append", default=[], metavar="KEY=VALUE", help="data-set option, e.g. dim=20 (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The ``TrainConfig`` that ``hybrid train`` arguments describe."""
    return TrainConfig(
        model=args.model, dataset=args.dataset, epochs=args.epochs, seed=args.seed, lr=args.lr,
        weight_decay=args.weight_decay, batch_size=args.batch_size, patience=args.patience, monitor=args.monitor,
        device=args.device, out=args.out, resume=args.resume, n_features=args.n_features, n_qubits=args.n_qubits,
        n_layers=args.n_layers, entangling=not args.no_entangling, model_options=dict(args.option),
        data_options=dict(args.data_option), progress=not args.no_progress,
    )  # fmt: skip


def main_from_args(args: argparse.Namespace) -> int:
    """Run ``hybrid train``; print the metrics; 0 on success, 2 on bad input, 130 if interrupted."""
    try:
        metrics = fit(config_from_args(args))
    except ValueError as exc:
        print(f"hybrid train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hybrid train: interrupted; continue with the same command plus --resume{'' if args.out else ' (needs --out)'}", file=sys.stderr)
        return 130
    if int(os.environ.get("RANK", "0")) > 0:
        return 0  # data-parallel: rank 0 reports
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        for key in ("model", "dataset", "device", "test_accuracy", "val_accuracy", "best_epoch", "epochs_run", "n_params", "train_seconds", "inference_seconds"):
            print(f"{key:>18}: {metrics[key]}")
    return 0
