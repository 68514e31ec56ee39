"""hybrid.train: determinism, resumption after SIGKILL, checkpoint format, early stopping, errors.

The resume test runs training in a subprocess that kills itself (SIGKILL, no clean-up)
in the middle of epoch 2, resumes it, and compares every epoch and the final metrics
with an uninterrupted run: the reference is the uninterrupted run, not stored numbers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from hybrid import cli
from hybrid.train import CHECKPOINT, METRICS, TrainConfig, fit

TIMING = ("seconds", "train_seconds", "inference_seconds")
# iris: 90 training rows; batches of 16 give 6 optimiser steps per epoch. The MLP's dropout
# makes the run depend on the torch RNG, so a resume that lost it would diverge.
BASE = TrainConfig(model="mlp", dataset="iris", epochs=4, batch_size=16, patience=0, progress=False, device="cpu")


def _strip(metrics: dict) -> dict:
    """Metrics without wall-clock fields and run-location settings."""
    out = {k: v for k, v in metrics.items() if k not in TIMING and k != "config"}
    out["history"] = [{k: v for k, v in e.items() if k not in TIMING} for e in metrics["history"]]
    return out


def test_same_seed_same_metrics_other_seed_other_metrics():
    a, b = fit(BASE), fit(BASE)
    assert _strip(a) == _strip(b)
    assert _strip(fit(replace(BASE, seed=1))) != _strip(a)


def test_transformer_and_vqc_runs_are_deterministic_too():
    for cfg in (replace(BASE, model="transformer", epochs=2), replace(BASE, model="vqc", dataset="moons", epochs=2)):
        assert _strip(fit(cfg)) == _strip(fit(cfg))


def test_metrics_file_history_and_best_epoch(tmp_path):
    out = tmp_path / "run"
    metrics = fit(replace(BASE, out=str(out)))
    on_disk = json.loads((out / METRICS).read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    assert [e["epoch"] for e in metrics["history"]] == [1, 2, 3, 4] and metrics["epochs_run"] == 4
    for key in ("epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy", "seconds", "lr"):
        assert all(key in e for e in metrics["history"])
    best = min(metrics["history"], key=lambda e: e["val_loss"])
    assert metrics["best_epoch"] == best["epoch"]
    # the restored weights are the best epoch's: its validation numbers come back
    assert metrics["val_loss"] == pytest.approx(best["val_loss"], rel=1e-6)
    assert metrics["val_accuracy"] == best["val_accuracy"]
    assert metrics["n_params"] == (4 * 64 + 64) + (64 * 64 + 64) + (64 * 3 + 3)
    # cosine schedule: lr_e = lr0 (1 + cos(pi e / E)) / 2 for epoch index e
    lr0 = 3e-3
    for e in metrics["history"]:
        assert e["lr"] == pytest.approx(lr0 * (1 + torch.cos(torch.tensor(torch.pi * (e["epoch"] - 1) / 4)).item()) / 2)


def test_early_stopping_when_validation_never_improves():
    # lr = 0: the weights never move, so the validation loss never improves after epoch 1.
    metrics = fit(replace(BASE, lr=0.0, epochs=20, patience=3))
    assert metrics["epochs_run"] == 4 and metrics["best_epoch"] == 1 and metrics["stopped_early"]


def test_checkpoint_loads_with_weights_only(tmp_path):
    out = tmp_path / "run"
    fit(replace(BASE, epochs=2, out=str(out)))
    state = torch.load(out / CHECKPOINT, weights_only=True)
    assert {"model", "optimizer", "scheduler", "rng", "run", "config"} <= set(state)
    assert len(state["run"]["history"]) == 2 and {"torch", "numpy", "python", "shuffle"} <= set(state["rng"])
    assert not list(out.glob("*.tmp"))


_KILLER = textwrap.dedent(
    """
    import os, signal, sys, json
    import torch
    from torch.optim.optimizer import register_optimizer_step_pre_hook
    from hybrid.train import TrainConfig, fit

    steps, limit = 0, int(sys.argv[2])

    def die_mid_epoch(optimizer, args, kwargs):
        global steps
        steps += 1
        if steps > limit:
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no flush: a hard crash

    register_optimizer_step_pre_hook(die_mid_epoch)
    fit(TrainConfig(**json.loads(sys.argv[1])))
    """
)


def test_resume_after_sigkill_mid_epoch_matches_the_uninterrupted_run(tmp_path):
    reference = fit(BASE)
    out = tmp_path / "run"
    cfg = {**{k: getattr(BASE, k) for k in ("model", "dataset", "epochs", "batch_size", "patience", "progress", "device")}, "out": str(out)}
    # the same thread count as this process: float sums over threads differ in the last bits
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    # 6 steps per epoch: die at the 3rd step of epoch 2, after epoch 1's checkpoint
    proc = subprocess.run([sys.executable, "-c", _KILLER, json.dumps(cfg), "8"], env=env, cwd=Path(__file__).parent.parent, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (out / METRICS).exists()
    assert len(torch.load(out / CHECKPOINT, weights_only=True)["run"]["history"]) == 1

    with pytest.raises(ValueError, match="not empty; pass --resume"):
        fit(replace(BASE, out=str(out)))
    resumed = fit(replace(BASE, out=str(out), resume=True))
    assert _strip(resumed) == _strip(reference)
    assert [e["epoch"] for e in resumed["history"]] == [1, 2, 3, 4]
    # a finished run resumed again just reports its metrics
    assert fit(replace(BASE, out=str(out), resume=True)) == json.loads((out / METRICS).read_text())


def test_resume_refuses_other_settings(tmp_path):
    out = tmp_path / "run"
    fit(replace(BASE, epochs=1, out=str(out)))
    (out / METRICS).unlink()  # pretend it was interrupted after epoch 1
    with pytest.raises(ValueError, match="different settings \\(lr, seed\\)"):
        fit(replace(BASE, epochs=1, out=str(out), resume=True, seed=5, lr=0.1))


def test_resume_of_a_finished_run_refuses_other_settings(tmp_path):
    out = tmp_path / "run"
    first = fit(replace(BASE, epochs=1, out=str(out)))
    assert fit(replace(BASE, epochs=1, out=str(out), resume=True)) == first  # finished: reported as it was
    with pytest.raises(ValueError, match="different settings \\(epochs\\)"):
        fit(replace(BASE, epochs=2, out=str(out), resume=True))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": "resnet"}, "unknown model 'resnet'; valid: mlp, cnn, transformer, hybrid-cnn"),
        ({"dataset": "mnist"}, "unknown dataset 'mnist'; valid: digits"),
        ({"model": "cnn"}, "needs image data"),
        ({"epochs": 0}, "epochs must be a positive integer; got 0"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
    ],
)
def test_bad_config_says_what_to_do(changes, message):
    with pytest.raises(ValueError, match=message):
        fit(replace(BASE, **changes))


def test_cli_train_writes_metrics_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["train", "--model", "mlp", "--dataset", "iris", "--epochs", "2", "--device", "cpu", "--out", str(out), "--no-progress", "--json"]
    assert cli.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["epochs_run"] == 2 and (out / METRICS).exists()
    assert cli.main(args) == 2
    assert "pass --resume to continue the run in it, or choose another --out" in capsys.readouterr().err
    assert cli.main(args + ["--resume"]) == 0
    assert cli.main(["train", "--model", "nope", "--dataset", "iris", "--no-progress"]) == 2
    assert "valid: mlp, cnn" in capsys.readouterr().err


@pytest.mark.slow  # two fresh interpreters importing torch: ~30 s on the 2-core machine
def test_torchrun_two_processes_reproduce_the_one_process_run(tmp_path):
    out = tmp_path / "ddp"
    args = ["--model", "mlp", "--dataset", "iris", "--epochs", "3", "--batch-size", "16", "--option", "dropout=0.0",
            "--device", "cpu", "--out", str(out), "--no-progress"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "hybrid.cli", "train", *args],
                          env=env, cwd=Path(__file__).parent.parent, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("test_accuracy") == 1  # only rank 0 reports
    ddp = json.loads((out / METRICS).read_text())
    single = fit(replace(BASE, epochs=3, model_options={"dropout": 0.0}))
    assert ddp["test_accuracy"] == single["test_accuracy"]
    for a, b in zip(ddp["history"], single["history"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
        assert a["train_accuracy"] == b["train_accuracy"]


def test_split_seed_fixes_the_split_independently_of_the_training_seed():
    from hybrid.train import _load_data

    shared = [_load_data(TrainConfig(model="mlp", dataset="moons", seed=s, split_seed=0)) for s in (0, 7)]
    own = _load_data(TrainConfig(model="mlp", dataset="moons", seed=7))
    assert torch.equal(shared[0].test[0], shared[1].test[0])
    assert not torch.equal(shared[1].test[0], own.test[0])  # seed alone draws another split
