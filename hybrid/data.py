"""Classification data sets: bundled with scikit-learn or generated from a seed, never downloaded.

``load_dataset(name, seed=...)`` returns fixed, stratified train/validation/test splits as
float32/long tensors, standardised with statistics fitted on the training split only, and
optionally reduced to ``n_features`` principal components (PCA also fitted on train only).

Two seeds: ``data_seed`` fixes the generated data set itself (the hyperplanes, curves and
manifolds of the qml-benchmarks families), ``seed`` fixes the split. So a benchmark over
seeds 0..4 sees five splits of one data set, as in Bowles, Ahmed & Schuld (arXiv:2403.07059).

The qml-benchmarks families follow the paper's section 4 ("Data sets") and the generation
scripts it published (``paper/benchmarks/generate_*.py`` in XanaduAI/qml-benchmarks); each
generator's docstring names its defaults. Their labels are mapped from {-1, +1} to {0, 1}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from sklearn import datasets as skdatasets
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from ._checks import integer

__all__ = [
    "Splits",
    "load_dataset",
    "DATASET_NAMES",
    "linearly_separable",
    "hidden_manifold",
    "two_curves",
    "hyperplanes_parity",
    "bars_and_stripes",
    "parity_labels",
]

Array = np.ndarray
Pair = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Splits:
    """Train/validation/test tensors: each a pair ``(X float32, y long)``."""

    name: str
    train: Pair
    val: Pair
    test: Pair
    n_classes: int
    input_shape: tuple[int, ...]  # per sample: (C, H, W) for images, (d,) for tabular

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3


# ---------------------------------------------------------------- qml-benchmarks families


def linearly_separable(n_samples: int = 300, n_features: int = 10, margin: float | None = None, *, rng: np.random.Generator) -> tuple[Array, Array]:
    """LINEARLY SEPARABLE (arXiv:2403.07059 sec. 4.1): uniform points in [-1, 1]^d outside a margin.

    The separating hyperplane is normal to (1, ..., 1); points with ``|x . 1| <= margin`` are
    dropped. Published default margin: ``0.02 * d``, 300 samples (d swept 2..20).
    """
    margin = 0.02 * n_features if margin is None else margin
    kept = np.empty((0, n_features))
    while len(kept) < n_samples:  # rejection sampling; the margin removes only a thin slab
        x = rng.uniform(-1.0, 1.0, size=(2 * n_samples, n_features))
        kept = np.concatenate([kept, x[np.abs(x.sum(axis=1)) > margin]])
    X = kept[:n_samples]
    return X, (X.sum(axis=1) > 0).astype(np.int64)


def hidden_manifold(n_samples: int = 300, n_features: int = 10, manifold_dimension: int = 6, *, rng: np.random.Generator) -> tuple[Array, Array]:
    """HIDDEN MANIFOLD (arXiv:2403.07059 sec. 4.1, after Goldt et al. 2020).

    Latent points ``c ~ N(0, I_m)`` are embedded as ``tanh(c F / sqrt(m) - b)`` with Gaussian
    ``F`` (m x d) and biases ``b ~ U[-1, 1]``; labels are the sign, about the median, of a
    one-hidden-layer tanh network of ``c``. Published defaults: m = 6, 300 samples.
    """
    m = manifold_dimension
    F = rng.normal(size=(m, n_features))
    C = rng.normal(size=(n_samples, m))
    bias = rng.uniform(-1.0, 1.0, size=n_features)
    X = np.tanh(C @ F / np.sqrt(m) - bias)
    W, v = rng.normal(size=(m, m)), rng.normal(size=m)
    score = np.tanh(C @ W.T) @ v / np.sqrt(m)
    return X, (score > np.median(score)).astype(np.int64)


def two_curves(n_samples: int = 300, n_features: int = 10, degree: int = 5, offset: float = 0.1, noise: float = 0.01, *, rng: np.random.Generator) -> tuple[Array, Array]:
    """TWO CURVES (arXiv:2403.07059 sec. 4.1): two noisy copies of one Fourier curve in R^d.

    Each coordinate is a Fourier series of degree ``degree`` in ``t ~ U[0, 1]`` with uniform
    coefficients (normalised jointly); class 1 is shifted by ``offset`` in every coordinate.
    Published defaults: degree 5, offset 0.1, noise 0.01, 300 samples.
    """
    coeffs = rng.uniform(size=(n_features, degree + 1, 2))
    coeffs /= np.linalg.norm(coeffs)
    k = np.arange(1, degree + 1)

    def curve(t: Array) -> Array:  # t: (n,) -> (n, d)
        phase = np.pi * np.outer(t, k)  # (n, degree); the period-2 scaling of the paper
        out = coeffs[:, 0, 0] + coeffs[:, 0, 1] + np.cos(phase) @ coeffs[:, 1:, 0].T + np.sin(phase) @ coeffs[:, 1:, 1].T
        return out + rng.normal(scale=noise, size=out.shape)

    half = n_samples // 2
    X = np.concatenate([curve(rng.uniform(size=half)), curve(rng.uniform(size=n_samples - half)) + offset])
    return X, np.repeat([0, 1], [half, n_samples - half])


def parity_labels(Z: Array, weights: Array, biases: Array) -> Array:
    """1 where an even number of hyperplanes ``w . z + b > 0`` has ``z`` on its positive side."""
    above = (Z @ weights.T + biases) > 0  # (n, n_hyperplanes)
    return (above.sum(axis=1) % 2 == 0).astype(np.int64)


def hyperplanes_parity(n_samples: int = 300, n_features: int = 10, n_hyperplanes: int = 2, dim_hyperplanes: int = 3, *, rng: np.random.Generator, return_latent: bool = False):
    """HYPERPLANES PARITY (arXiv:2403.07059 sec. 4.1): parity of the sides of random hyperplanes.

    ``z ~ N(0, I_k)`` in ``k = dim_hyperplanes`` dimensions is labelled by ``parity_labels``
    with weights and biases ``~ U[0, 1]``, classes balanced by subselection, then embedded in
    R^d by a uniform random linear map. Published: d = 10, k = 3, 300 samples, 2..20 hyperplanes
    (the HYPERPLANES DIFF sweep); the default here is its easiest member, 2.
    With ``return_latent`` also returns ``(Z, weights, biases)`` so the rule can be checked.
    """
    weights = rng.uniform(size=(n_hyperplanes, dim_hyperplanes))
    biases = rng.uniform(size=n_hyperplanes)
    Z = rng.normal(size=(8 * n_samples, dim_hyperplanes))
    y = parity_labels(Z, weights, biases)
    half = n_samples // 2
    idx = np.concatenate([np.flatnonzero(y == 0)[:half], np.flatnonzero(y == 1)[: n_samples - half]])
    if len(idx) < n_samples:
        raise ValueError("hyperplanes_parity could not balance the classes; try another data_seed")
    Z, y = Z[idx], y[idx]
    X = Z @ rng.uniform(size=(dim_hyperplanes, n_features))
    return (X, y, (Z, weights, biases)) if return_latent else (X, y)


def bars_and_stripes(n_samples: int = 1200, size: int = 8, noise_std: float = 0.5, *, rng: np.random.Generator) -> tuple[Array, Array]:
    """BARS & STRIPES (arXiv:2403.07059 sec. 4.1): ``size x size`` images in {-1, 1} plus noise.

    Label 1 ("stripes", +1 in the paper): a random subset of rows is set to +1; label 0
    ("bars", -1): a random subset of columns. Published: noise 0.5, 1000 train + 200 test
    images, sizes 4, 8, 16, 32; the default here is 8 x 8 so the small CNNs fit.
    """
    X = -np.ones((n_samples, 1, size, size))
    y = (rng.uniform(size=n_samples) > 0.5).astype(np.int64)
    on = rng.uniform(size=(n_samples, size)) > 0.5  # which rows (label 1) or columns (label 0)
    X[y == 1, 0] = np.where(on[y == 1, :, None], 1.0, -1.0) * np.ones(size)
    X[y == 0, 0] = np.where(on[y == 0, None, :], 1.0, -1.0) * np.ones((size, 1))
    return X + rng.normal(scale=noise_std, size=X.shape), y


# ---------------------------------------------------------------- bundled and classic sets


def _digits(classes: tuple[int, ...] | None = None, downsample: bool = False) -> tuple[Array, Array]:
    """scikit-learn's bundled 8x8 digits as (N, 1, 8, 8) in [0, 16]; optional 2x2 mean-pool to 4x4."""
    d = skdatasets.load_digits()
    X, y = d.images[:, None].astype(np.float64), d.target.astype(np.int64)
    if classes is not None:
        keep = np.isin(y, classes)
        label = {digit: i for i, digit in enumerate(classes)}  # in the order given: digits-5v3 makes 5 class 0
        X, y = X[keep], np.array([label[int(v)] for v in y[keep]], dtype=np.int64)
    if downsample:
        X = X.reshape(len(X), 1, 4, 2, 4, 2).mean(axis=(3, 5))
    return X, y


def _sklearn_table(loader: Callable) -> Callable[..., tuple[Array, Array]]:
    def load(rng: np.random.Generator) -> tuple[Array, Array]:
        data = loader()
        return data.data.astype(np.float64), data.target.astype(np.int64)

    return load


def _moons(rng: np.random.Generator, n_samples: int = 300, noise: float = 0.1) -> tuple[Array, Array]:
    return skdatasets.make_moons(n_samples, noise=noise, random_state=int(rng.integers(2**31)))


def _circles(rng: np.random.Generator, n_samples: int = 300, noise: float = 0.05, factor: float = 0.5) -> tuple[Array, Array]:
    return skdatasets.make_circles(n_samples, noise=noise, factor=factor, random_state=int(rng.integers(2**31)))


_BUILDERS: dict[str, Callable[..., tuple[Array, Array]]] = {
    "digits": lambda rng: _digits(),
    "digits4x4": lambda rng: _digits(downsample=True),
    "breast_cancer": _sklearn_table(skdatasets.load_breast_cancer),
    "iris": _sklearn_table(skdatasets.load_iris),
    "wine": _sklearn_table(skdatasets.load_wine),
    "moons": _moons,
    "circles": _circles,
    "linearly-separable": lambda rng, **kw: linearly_separable(rng=rng, **kw),
    "hidden-manifold": lambda rng, **kw: hidden_manifold(rng=rng, **kw),
    "two-curves": lambda rng, **kw: two_curves(rng=rng, **kw),
    "hyperplanes-parity": lambda rng, **kw: hyperplanes_parity(rng=rng, **kw),
    "bars-and-stripes": lambda rng, **kw: bars_and_stripes(rng=rng, **kw),
}

_PAIR = re.compile(r"^digits-(\d)v(\d)$")

#: Every name ``load_dataset`` accepts; ``digits-AvB`` works for any two distinct digits.
DATASET_NAMES: tuple[str, ...] = (*_BUILDERS, "digits-3v5", "digits-0v1", "digits-4v9")


def _raw(name: str, rng: np.random.Generator, options: dict) -> tuple[Array, Array]:
    pair = _PAIR.match(name)
    if pair:
        a, b = int(pair[1]), int(pair[2])
        if a == b:
            raise ValueError(f"dataset {name!r} pairs a digit with itself; use two different digits, e.g. 'digits-3v5'")
        return _digits(classes=(a, b))
    if name not in _BUILDERS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASET_NAMES)} (or any 'digits-AvB')")
    try:
        return _BUILDERS[name](rng, **options)
    except TypeError as exc:
        raise ValueError(f"bad options {sorted(options)} for dataset {name!r}: {exc}") from exc


def _split(y: Array, val_fraction: float, test_fraction: float, seed: int) -> tuple[Array, Array, Array]:
    """Stratified indices; the seed alone decides them."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"val_fraction and test_fraction must be in (0, 1) with sum < 1; got {val_fraction}, {test_fraction}")
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=test_fraction, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), stratify=y[rest], random_state=seed)
    return train, val, test


def load_dataset(
    name: str,
    *,
    seed: int = 0,
    n_features: int | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    data_seed: int = 0,
    standardize: bool = True,
    **options,
) -> Splits:
    """Load or generate ``name`` and split it train/val/test (stratified, seeded).

    Args:
        name: one of ``DATASET_NAMES`` or ``digits-AvB``.
        seed: decides the split; same seed, identical splits.
        n_features: if given, project onto this many principal components fitted on the
            training split (images become tabular, ``input_shape == (n_features,)``).
        val_fraction, test_fraction: shares of the whole set.
        data_seed: decides generated data (ignored by the bundled sets).
        standardize: tabular data get per-feature zero mean / unit variance; images one
            global mean and standard deviation (keeps the picture), both fitted on train.
        **options: generator parameters, e.g. ``n_features=`` is taken by PCA, so pass the
            generator's dimension as ``dim=`` (``load_dataset("hidden-manifold", dim=20)``).
    """
    if "dim" in options:
        options["n_features"] = options.pop("dim")
    X, y = _raw(name, np.random.default_rng(data_seed), options)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
    train, val, test = _split(y, val_fraction, test_fraction, seed)
    image = X.ndim == 4
    if standardize:
        if image:
            mean, std = X[train].mean(), X[train].std()
        else:
            mean, std = X[train].mean(axis=0), X[train].std(axis=0)
        X = (X - mean) / np.where(std > 0, std, 1.0)  # constant features stay at 0
    if n_features is not None:
        flat = X.reshape(len(X), -1)
        n_features = integer(n_features, f"n_features for {name!r}", minimum=1, maximum=min(flat.shape[1], len(train)))
        pca = PCA(n_components=n_features, random_state=0).fit(flat[train])
        X = pca.transform(flat)
        if standardize:  # PCA components have very different scales; encoders want unit ones
            X = X / X[train].std(axis=0)
        image = False

    def pair(i: Array) -> Pair:
        return torch.as_tensor(X[i], dtype=torch.float32), torch.as_tensor(y[i], dtype=torch.long)

    return Splits(name, pair(train), pair(val), pair(test), int(y.max()) + 1, tuple(X.shape[1:]))
