"""The tuning decision: which trial a model's final seeds train with.

It reads the validation accuracy of each trial and nothing else, so the test split cannot
influence the choice; render() repeats the same decision from the stored tuning records.
"""

from __future__ import annotations

import math
from typing import Iterable

__all__ = ["choose_trial"]


def choose_trial(trials: Iterable[dict]) -> dict:
    """The trial record with the highest ``val_accuracy``; a tie goes to the lower trial number.

    Args:
        trials: tuning records, each with ``"trial"`` (int) and ``"val_accuracy"`` (float).

    Raises:
        ValueError: no trial has a finite validation accuracy.
    """
    usable = [t for t in trials if isinstance(t.get("val_accuracy"), int | float) and math.isfinite(t["val_accuracy"])]
    if not usable:
        raise ValueError("no tuning trial has a validation accuracy; run (or rerun) the tuning cases first")
    return min(usable, key=lambda t: (-t["val_accuracy"], t["trial"]))
