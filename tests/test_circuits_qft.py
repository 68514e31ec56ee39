"""QFT and QPE builders against the DFT matrix and exact phases."""

import numpy as np
import pytest
import torch

from circuits.qft import inverse_qft, qft, qpe
from hybrid import Circuit, simulate


def _unitary_of(c: Circuit) -> np.ndarray:
    d = 2**c.n_qubits
    cols = [simulate(c, initial_state=i, dtype=torch.complex128).vector.numpy() for i in range(d)]
    return np.stack(cols, axis=1)


def _bit_reverse(n: int) -> list[int]:
    return [int(format(i, f"0{n}b")[::-1], 2) for i in range(2**n)]


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_qft_is_the_dft_matrix(n):
    N = 2**n
    dft = np.exp(2j * np.pi * np.outer(np.arange(N), np.arange(N)) / N) / np.sqrt(N)
    np.testing.assert_allclose(_unitary_of(qft(n)), dft, atol=1e-12)
    # Without the swaps the output index comes out bit-reversed.
    np.testing.assert_allclose(_unitary_of(qft(n, swaps=False))[_bit_reverse(n)], dft, atol=1e-12)
    np.testing.assert_allclose(_unitary_of(inverse_qft(n)), dft.conj().T, atol=1e-12)


@pytest.mark.parametrize("k", range(8))
def test_qpe_reads_exact_phases(k):
    phase = np.diag([1, np.exp(2j * np.pi * k / 8)])
    c = qpe(phase, 3, eigenstate=Circuit(1).x(0))
    probs = simulate(c, dtype=torch.complex128).probs(list(range(3))).numpy()
    assert probs[k] == pytest.approx(1.0, abs=1e-12)


def test_qpe_on_an_inexact_phase_peaks_at_the_nearest_fraction():
    rng = np.random.default_rng(5)
    from scipy.stats import unitary_group

    u = unitary_group.rvs(4, random_state=rng)
    eigvals, eigvecs = np.linalg.eig(u)
    phi = (np.angle(eigvals[0]) / (2 * np.pi)) % 1
    # A unitary whose first column is the eigenvector (up to a phase, which QPE ignores).
    q, _ = np.linalg.qr(np.column_stack([eigvecs[:, 0], rng.normal(size=(4, 3))]))
    prep = Circuit(2).unitary(q, [0, 1])
    m = 6
    probs = simulate(qpe(u, m, eigenstate=prep), dtype=torch.complex128).probs(list(range(m))).numpy()
    best = int(np.argmax(probs))
    distance = min(abs(best / 2**m - phi), 1 - abs(best / 2**m - phi))
    assert distance <= 1 / 2**m
    assert probs[best] >= 4 / np.pi**2 - 1e-9  # the textbook lower bound for the nearest outcome


def test_qpe_errors():
    with pytest.raises(ValueError, match="n_phase_bits"):
        qpe(np.eye(2), 0)
    with pytest.raises(ValueError, match="2\\*\\*k x 2\\*\\*k"):
        qpe(np.eye(3), 2)
    with pytest.raises(ValueError, match="prepares 2 qubit"):
        qpe(np.eye(2), 2, eigenstate=Circuit(2))
