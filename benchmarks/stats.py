"""Small-sample statistics for benchmark results: t confidence intervals and paired tests.

Benchmarks repeat each case over a handful of seeds (5 by default), so every function here
works with tiny samples and says when a sample is too small to say anything. The Wilcoxon
signed-rank test is computed exactly by enumerating every sign pattern, with mid-ranks for
tied magnitudes: test accuracies are multiples of 1/len(test set), so ties are the rule, and
SciPy then falls back to a normal approximation that is poor at n=5.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as _st

__all__ = ["MeanCI", "PairedTest", "mean_ci", "paired_t", "wilcoxon_exact", "paired"]

EXACT_MAX_N = 20  # 2**20 sign patterns; beyond that the normal approximation is good


@dataclass(frozen=True)
class MeanCI:
    """Mean of a sample with a two-sided confidence interval (t distribution)."""

    mean: float
    half_width: float  # nan when n < 2
    n: int
    level: float = 0.95

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


@dataclass(frozen=True)
class PairedTest:
    """Paired comparison of a and b (differences a - b) over matched runs."""

    n: int
    mean_diff: float
    diff_ci: MeanCI
    t_stat: float
    t_p: float  # two-sided paired t-test
    wilcoxon_p: float  # two-sided exact Wilcoxon signed-rank (zeros dropped)
    wilcoxon_n: int  # nonzero differences the Wilcoxon test used


def _sample(x: Sequence[float], name: str = "sample") -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sequence of numbers, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains nan or inf: {a.tolist()}; drop failed runs before testing")
    return a


def mean_ci(x: Sequence[float], level: float = 0.95) -> MeanCI:
    """Mean and two-sided ``level`` confidence interval, ``mean ± t_{(1+level)/2, n-1} · s/√n``.

    With one value the half-width is nan (no spread can be estimated).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    a = _sample(x)
    n = a.size
    if n < 2:
        return MeanCI(float(a.mean()), math.nan, n, level)
    sem = a.std(ddof=1) / math.sqrt(n)
    return MeanCI(float(a.mean()), float(_st.t.ppf(0.5 + level / 2, n - 1) * sem), n, level)


def paired_t(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Two-sided paired t-test of mean(a - b) = 0; returns (t statistic, p-value).

    Identical differences have no spread: p is 1 when they are all zero and 0 otherwise
    (t = ±inf). Fewer than two pairs give (nan, nan).
    """
    d = _differences(a, b)
    n = d.size
    if n < 2:
        return math.nan, math.nan
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if np.all(d == d[0]):  # no spread (sd may still come out as a few ulps)
        return (0.0, 1.0) if d[0] == 0.0 else (math.copysign(math.inf, d[0]), 0.0)
    t = mean / (sd / math.sqrt(n))
    return t, float(2.0 * _st.t.sf(abs(t), n - 1))


def wilcoxon_exact(a: Sequence[float], b: Sequence[float]) -> tuple[float, int]:
    """Two-sided Wilcoxon signed-rank test of the differences a - b; returns (p, n used).

    Zero differences are dropped (Wilcoxon's convention); tied magnitudes get mid-ranks.
    The null distribution of W+ is enumerated over all 2**n sign patterns of the observed
    ranks, which is exact with ties; above ``EXACT_MAX_N`` the normal approximation with the
    tie-corrected variance is used. No nonzero difference gives p = 1.
    """
    d = _differences(a, b)
    d = d[d != 0.0]
    n = d.size
    if n == 0:
        return 1.0, 0
    ranks = _st.rankdata(np.abs(d))  # mid-ranks for ties
    w_plus = float(ranks[d > 0].sum())
    total = float(ranks.sum())
    if n > EXACT_MAX_N:
        var = (n * (n + 1) * (2 * n + 1)) / 24.0 - _tie_term(np.abs(d)) / 48.0
        z = (w_plus - total / 2) / math.sqrt(var)
        return float(min(1.0, 2.0 * _st.norm.sf(abs(z)))), n
    # W+ over every sign pattern: rows of the 0/1 matrix pick the positive ranks.
    signs = np.array(list(itertools.product((0.0, 1.0), repeat=n)))
    null = signs @ ranks
    dev = abs(w_plus - total / 2)
    extreme = np.abs(null - total / 2) >= dev - 1e-9  # as or more extreme, both tails
    return float(extreme.mean()), n


def paired(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> PairedTest:
    """Paired t-test, exact Wilcoxon test and a CI of the mean difference a - b."""
    d = _differences(a, b)
    t, p = paired_t(a, b)
    wp, wn = wilcoxon_exact(a, b)
    return PairedTest(d.size, float(d.mean()), mean_ci(d, level), t, p, wp, wn)


def _differences(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    x, y = _sample(a, "a"), _sample(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"paired samples need equal lengths, got {x.size} and {y.size}; pair runs by seed first")
    # Accuracies are fractions with a common denominator; rounding makes differences that
    # float arithmetic left a few ulps apart equal again (ties, zeros, zero spread).
    return np.round(x - y, 12)


def _tie_term(magnitudes: np.ndarray) -> float:
    _, counts = np.unique(magnitudes, return_counts=True)
    return float((counts**3 - counts).sum())
