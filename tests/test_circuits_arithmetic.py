"""Beauregard's arithmetic circuits against integer arithmetic: basis state in, basis state out."""

import numpy as np
import pytest
import torch

from circuits.arithmetic import adder, cmult_mod, controlled_multiplier, phi_add_mod
from circuits.qft import inverse_qft, qft
from hybrid import Circuit, simulate


def _pack(*fields: tuple[int, int]) -> int:
    """A basis index from (value, width) fields, the first field most significant."""
    index = 0
    for value, width in fields:
        assert 0 <= value < 2**width
        index = (index << width) | value
    return index


def _images(circuit: Circuit, inputs: list[int]) -> list[int]:
    """Run every basis state in ``inputs`` as one batch; each must come out a basis state."""
    init = torch.zeros((len(inputs), 2**circuit.n_qubits), dtype=torch.complex128)
    init[torch.arange(len(inputs)), torch.tensor(inputs)] = 1
    probs = simulate(circuit, initial_state=init, dtype=torch.complex128).probs().numpy()
    np.testing.assert_allclose(probs.max(axis=1), 1.0, atol=1e-9)  # a basis state, not a superposition
    return probs.argmax(axis=1).tolist()


@pytest.mark.parametrize("m", [1, 3, 4])
def test_adder_adds_every_constant_to_every_register_value(m):
    for a in range(2**m):
        got = _images(adder(a, m), list(range(2**m)))
        assert got == [(b + a) % 2**m for b in range(2**m)]


@pytest.mark.parametrize("modulus", [11, 13])
def test_doubly_controlled_modular_adder(modulus):
    n = modulus.bit_length()
    inputs = [(c1, c2, b) for c1 in (0, 1) for c2 in (0, 1) for b in range(modulus)]
    index = [_pack((c1, 1), (c2, 1), (b, n + 1), (0, 1)) for c1, c2, b in inputs]
    b_wires = list(range(2, n + 3))
    for a in range(modulus):
        # phi_add_mod works in the Fourier basis: wrap it in the QFT on b to test it on basis states.
        c = Circuit(n + 4).compose(qft(n + 1, swaps=False), wires=b_wires)
        c.compose(phi_add_mod(a, modulus, n)).compose(inverse_qft(n + 1, swaps=False), wires=b_wires)
        expected = [_pack((c1, 1), (c2, 1), ((a + b) % modulus if c1 and c2 else b, n + 1), (0, 1)) for c1, c2, b in inputs]
        assert _images(c, index) == expected, f"a={a}"


@pytest.mark.parametrize("modulus, a", [(13, 5), pytest.param(15, 7, marks=pytest.mark.slow)])
def test_controlled_multiply_add(modulus, a):
    n = modulus.bit_length()
    inputs = [(c, x, b) for c in (0, 1) for x in range(2**n) for b in range(modulus)]
    index = [_pack((c, 1), (x, n), (b, n + 1), (0, 1)) for c, x, b in inputs]
    expected = [_pack((c, 1), (x, n), ((b + c * a * x) % modulus, n + 1), (0, 1)) for c, x, b in inputs]
    assert _images(cmult_mod(a, modulus, n), index) == expected


@pytest.mark.parametrize(
    "modulus, bases",
    [
        (15, [7, 11]),
        (21, [5]),
        pytest.param(15, [2, 4, 8, 13, 14], marks=pytest.mark.slow),
        pytest.param(21, [2, 4, 8, 10, 11, 13, 16, 17, 19, 20], marks=pytest.mark.slow),
        pytest.param(35, [2, 3], marks=pytest.mark.slow),
    ],
)
def test_controlled_multiplier_in_place(modulus, bases):
    n = modulus.bit_length()
    inputs = [(c, x) for c in (0, 1) for x in range(modulus)]
    index = [_pack((c, 1), (x, n), (0, n + 1), (0, 1)) for c, x in inputs]
    for a in bases:
        expected = [_pack((c, 1), (pow(a, c) * x % modulus, n), (0, n + 1), (0, 1)) for c, x in inputs]
        assert _images(controlled_multiplier(a, modulus, n), index) == expected, f"a={a}"


def test_multiplier_width_and_gate_set():
    c = controlled_multiplier(7, 15, 4)
    assert c.n_qubits == 2 * 4 + 3
    # Ordinary gates only: H, phases (controlled up to twice), CNOT, X and controlled swaps.
    assert set(c.count_ops()) <= {"h", "p", "cp", "ccp", "cx", "x", "cswap"}


def test_arithmetic_errors():
    with pytest.raises(ValueError, match="modulus"):
        phi_add_mod(3, 17, 4)  # 17 does not fit in 4 bits
    with pytest.raises(ValueError, match="no inverse"):
        controlled_multiplier(6, 15, 4)
    with pytest.raises(ValueError, match="positive integer"):
        adder(1, 0)
