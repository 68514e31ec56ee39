"""probs, sampling, counts, expval/var and reduced density matrices against dense references."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from hybrid import Circuit, X, Y, Z, I, parse_observable, pauli_word, simulate

from .reference import pauli_sum_matrix, reference_state


def _random_circuit(n, seed):
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(3):
        for w in range(n):
            c.u(*rng.uniform(-3, 3, 3), w)
        for w in range(n - 1):
            c.cx(w, w + 1)
    return c


def _state(c, **kw):
    return simulate(c, dtype=torch.complex128, device="cpu", **kw)


def test_probs_of_unsorted_wires_read_first_wire_as_msb():
    c = _random_circuit(4, 1)
    psi = reference_state(c).reshape(2, 2, 2, 2)
    p = np.abs(psi) ** 2
    expected = p.sum(axis=(1,)).transpose(2, 0, 1).reshape(-1)  # wires [3, 0, 2]
    np.testing.assert_allclose(_state(c).probs([3, 0, 2]).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(_state(c).probs().numpy(), p.reshape(-1), atol=1e-12)


def test_sampling_is_seeded_and_ordered():
    c = Circuit(3).x(0)  # |100>: wire 0 is the most significant bit
    s = _state(c)
    assert s.counts(10, seed=1) == {"100": 10}
    assert s.counts(5, wires=[2, 0], seed=1) == {"01": 5}
    c = _random_circuit(3, 2)
    a, b = _state(c).sample(200, seed=42), _state(c).sample(200, seed=42)
    assert torch.equal(a, b) and a.shape == (200, 3)
    assert not torch.equal(a, _state(c).sample(200, seed=43))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sample_frequencies_pass_chi_square(seed):
    c = _random_circuit(4, seed)
    s = _state(c)
    shots = 20000
    counts = s.counts(shots, seed=seed)
    p = s.probs().numpy()
    observed = np.array([counts.get(format(i, "04b"), 0) for i in range(16)])
    keep = p * shots > 5  # chi-square needs expected counts that are not tiny
    expected = p[keep] * shots
    expected *= observed[keep].sum() / expected.sum()
    assert chisquare(observed[keep], expected).pvalue > 1e-4


def test_batched_counts_give_one_dict_per_sample():
    c = Circuit(1).rx(torch.tensor([0.0, np.pi], dtype=torch.float64), 0)
    assert _state(c).counts(7, seed=0) == [{"0": 7}, {"1": 7}]


observables = st.lists(
    st.tuples(
        st.floats(-2, 2, allow_nan=False),
        st.lists(st.sampled_from("IXYZ"), min_size=4, max_size=4),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None)
@given(observables, st.integers(0, 1000))
def test_expval_and_var_equal_dense_matrices(terms, seed):
    n = 4
    obs = sum((pauli_word("".join(letters), list(range(n)), coeff) for coeff, letters in terms), 0.0 * I())
    c = _random_circuit(n, seed)
    psi = reference_state(c)
    h = pauli_sum_matrix(obs, n)
    want = np.vdot(psi, h @ psi).real
    want_var = np.vdot(psi, h @ h @ psi).real - want**2
    s = _state(c)
    assert s.expval(obs).item() == pytest.approx(want, abs=1e-10)
    assert s.var(obs).item() == pytest.approx(want_var, abs=1e-9)


def test_string_observables_match_built_ones():
    c = _random_circuit(3, 5)
    s = _state(c)
    built = 0.5 * Z(0) @ Z(1) - 2.0 * Y(2) + 1.5
    assert s.expval("0.5 Z0 Z1 - 2 Y2 + 1.5").item() == pytest.approx(s.expval(built).item(), abs=1e-12)
    assert repr(parse_observable("X0 Z2")) == "1 X0 Z2"
    assert s.expval(X(1)).item() == pytest.approx(
        np.vdot(reference_state(c), pauli_sum_matrix(X(1), 3) @ reference_state(c)).real, abs=1e-12
    )


def test_reduced_density_matrix_equals_partial_trace():
    c = _random_circuit(4, 9)
    psi = reference_state(c).reshape(2, 2, 2, 2)
    wires = [2, 0]
    rest = [1, 3]
    a = psi.transpose(wires + rest).reshape(4, 4)
    want = a @ a.conj().T
    got = _state(c).density_matrix(wires).numpy()
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert np.trace(got).real == pytest.approx(1.0)


def test_diagonal_observable_table_equals_word_by_word():
    from hybrid.sim.measure import expval as one, expvals

    c = _random_circuit(5, 11)
    psi = simulate(c, dtype=torch.complex128).vector.reshape(1, -1)
    observables = [Z(0), 0.5 * Z(1) @ Z(4) - 2.0, Z(2) + Z(3) @ Z(0) @ Z(4)]
    table = expvals(psi, 5, observables)
    loop = torch.stack([one(psi, 5, o) for o in observables], dim=-1)
    np.testing.assert_allclose(table.numpy(), loop.numpy(), atol=1e-12)
    mixed = expvals(psi, 5, observables + [X(1)])  # not all diagonal: the general path
    np.testing.assert_allclose(mixed[:, :3].numpy(), loop.numpy(), atol=1e-12)
