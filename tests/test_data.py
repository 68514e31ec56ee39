"""hybrid.data: splits, standardisation, PCA and the generators' defining properties.

References are independent: numpy SVD for PCA, explicit Python loops for the parity rule,
the raw scikit-learn bundles for counts and pixel sums.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from hybrid import data
from hybrid.data import DATASET_NAMES, load_dataset


def _rows(t: torch.Tensor) -> set[tuple]:
    return {tuple(np.round(r, 4)) for r in t.reshape(len(t), -1).float().numpy().astype(np.float64)}


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_every_dataset_loads_with_consistent_shapes(name):
    s = load_dataset(name)
    sizes = [len(s.train[0]), len(s.val[0]), len(s.test[0])]
    for X, y in (s.train, s.val, s.test):
        assert X.dtype == torch.float32 and y.dtype == torch.long
        assert tuple(X.shape[1:]) == s.input_shape and len(X) == len(y)
        assert torch.isfinite(X).all() and 0 <= int(y.min()) and int(y.max()) < s.n_classes
    total = sum(sizes)
    assert abs(sizes[1] - 0.2 * total) <= 2 and abs(sizes[2] - 0.2 * total) <= 2


def test_splits_are_disjoint_cover_the_data_and_are_stratified():
    raw_X, raw_y = data.linearly_separable(rng=np.random.default_rng(0))
    s = load_dataset("linearly-separable", standardize=False)
    parts = [_rows(s.train[0]), _rows(s.val[0]), _rows(s.test[0])]
    assert parts[0].isdisjoint(parts[1]) and parts[0].isdisjoint(parts[2]) and parts[1].isdisjoint(parts[2])
    assert parts[0] | parts[1] | parts[2] == _rows(torch.as_tensor(raw_X))
    share = np.bincount(raw_y) / len(raw_y)
    for _, y in (s.train, s.val, s.test):
        assert np.all(np.abs(np.bincount(y.numpy(), minlength=2) - share * len(y)) <= 1)


def test_same_seed_same_splits_other_seed_other_splits():
    a, b, c = load_dataset("wine", seed=3), load_dataset("wine", seed=3), load_dataset("wine", seed=4)
    for part in ("train", "val", "test"):
        assert torch.equal(getattr(a, part)[0], getattr(b, part)[0]) and torch.equal(getattr(a, part)[1], getattr(b, part)[1])
    assert not torch.equal(a.test[0], c.test[0])


def test_standardisation_is_fitted_on_train_only():
    raw = load_dataset("wine", standardize=False)
    s = load_dataset("wine")
    Xtr = raw.train[0].double().numpy()
    mean, std = Xtr.mean(axis=0), Xtr.std(axis=0)
    np.testing.assert_allclose(s.train[0].double().numpy().mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(s.train[0].double().numpy().std(axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(s.test[0].numpy(), (raw.test[0].double().numpy() - mean) / std, atol=1e-5)


def test_images_get_one_global_scale_from_train():
    raw, s = load_dataset("digits", standardize=False), load_dataset("digits")
    train = raw.train[0].double().numpy()
    np.testing.assert_allclose(s.val[0].numpy(), (raw.val[0].double().numpy() - train.mean()) / train.std(), atol=1e-5)


def test_pca_matches_numpy_svd_of_the_training_split():
    raw = load_dataset("digits-3v5")  # standardised images
    s = load_dataset("digits-3v5", n_features=4)
    assert s.input_shape == (4,)
    Xtr = raw.train[0].reshape(len(raw.train[0]), -1).double().numpy()
    mu = Xtr.mean(axis=0)
    _, _, vt = np.linalg.svd(Xtr - mu, full_matrices=False)
    ref_train = (Xtr - mu) @ vt[:4].T
    scale = ref_train.std(axis=0)
    ref_test = (raw.test[0].reshape(len(raw.test[0]), -1).double().numpy() - mu) @ vt[:4].T / scale
    ours = s.test[0].double().numpy()
    signs = np.sign(np.sum(ours * ref_test, axis=0))  # components are defined up to sign
    np.testing.assert_allclose(ours, ref_test * signs, atol=1e-4)
    np.testing.assert_allclose(np.cov(s.train[0].double().numpy().T, bias=True), np.eye(4), atol=1e-4)


def test_digit_pairs_and_downsampling_against_the_raw_bundle():
    digits = load_digits()
    s = load_dataset("digits-3v5", standardize=False)
    labels = torch.cat([s.train[1], s.val[1], s.test[1]])
    assert torch.bincount(labels).tolist() == [int((digits.target == 3).sum()), int((digits.target == 5).sum())]
    flipped = load_dataset("digits-5v3", standardize=False)  # classes in the order named: 5 is class 0
    labels = torch.cat([flipped.train[1], flipped.val[1], flipped.test[1]])
    assert flipped.n_classes == 2
    assert torch.bincount(labels).tolist() == [int((digits.target == 5).sum()), int((digits.target == 3).sum())]
    small = load_dataset("digits4x4", standardize=False)
    X = torch.cat([small.train[0], small.val[0], small.test[0]]).double().numpy()
    assert X.shape[1:] == (1, 4, 4)
    np.testing.assert_allclose(np.sort(X.sum(axis=(1, 2, 3)) * 4), np.sort(digits.images.sum(axis=(1, 2))), atol=1e-3)


def test_bars_and_stripes_are_bars_or_stripes():
    X, y = data.bars_and_stripes(n_samples=200, size=5, noise_std=0.0, rng=np.random.default_rng(1))
    assert set(np.unique(X)) <= {-1.0, 1.0} and 0 < y.sum() < len(y)
    for img, label in zip(X[:, 0], y):
        if label == 1:  # stripes: every row uniform
            assert all(len(set(row)) == 1 for row in img)
        else:  # bars: every column uniform
            assert all(len(set(col)) == 1 for col in img.T)


def test_hyperplanes_parity_labels_follow_the_rule():
    X, y, (Z, W, b) = data.hyperplanes_parity(n_samples=100, n_hyperplanes=3, rng=np.random.default_rng(2), return_latent=True)
    for z, label in zip(Z, y):
        sides = sum(1 for w, c in zip(W, b) if float(np.dot(w, z)) + float(c) > 0)
        assert label == (1 if sides % 2 == 0 else 0)
    assert np.bincount(y).tolist() == [50, 50] and X.shape == (100, 10)
    # the embedding is linear: X lies in a 3-dimensional subspace of R^10
    assert np.linalg.matrix_rank(X, tol=1e-8) == 3


def test_linearly_separable_margin_and_labels():
    X, y = data.linearly_separable(n_samples=200, n_features=5, rng=np.random.default_rng(3))
    s = X.sum(axis=1)
    assert np.all(np.abs(s) > 0.02 * 5) and np.all(np.abs(X) <= 1)
    assert np.array_equal(y, (s > 0).astype(int))


def test_hidden_manifold_is_balanced_and_bounded():
    X, y = data.hidden_manifold(n_samples=300, rng=np.random.default_rng(4))
    assert np.bincount(y).tolist() == [150, 150] and np.all(np.abs(X) < 1)


def test_two_curves_noise_free_classes_differ_by_the_offset():
    X, y = data.two_curves(n_samples=2000, n_features=3, noise=0.0, offset=0.3, rng=np.random.default_rng(5))
    a, b = X[y == 0], X[y == 1] - 0.3
    # both sets sample the same closed curve: every b point has an a point very near it
    dist = np.min(np.linalg.norm(a[None] - b[:, None], axis=2), axis=1)
    assert dist.max() < 0.02 and np.bincount(y).tolist() == [1000, 1000]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "mnist"}, "unknown dataset 'mnist'; valid: digits"),
        ({"name": "digits-3v3"}, "two different digits"),
        ({"name": "iris", "n_features": 9}, "n_features for 'iris' must be an integer in 1 .. 4; got 9"),
        ({"name": "iris", "val_fraction": 0.9}, "val_fraction and test_fraction"),
        ({"name": "moons", "bogus": 1}, "bad options"),
    ],
)
def test_bad_input_says_what_to_do(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(**kwargs)
