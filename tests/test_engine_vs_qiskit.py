"""Random circuits of every gate kind equal Qiskit's Statevector (after the bit-order flip)."""

import numpy as np
import torch
from hypothesis import given, settings
from qiskit.quantum_info import Statevector

from hybrid import simulate

from .strategies import GATE_TABLE, build_ours, build_qiskit, qiskit_to_msb_first, random_programs


def _fidelity(a: np.ndarray, b: np.ndarray) -> float:
    return float(abs(np.vdot(a, b)) ** 2)


@settings(max_examples=60, deadline=None)
@given(random_programs(max_qubits=10))
def test_complex128_matches_qiskit(program):
    n, ops = program
    ours = simulate(build_ours(n, ops), dtype=torch.complex128, device="cpu").vector.numpy()
    ref = qiskit_to_msb_first(Statevector(build_qiskit(n, ops)).data, n)
    assert _fidelity(ours, ref) >= 1 - 1e-10
    # Fidelity ignores global phase; the amplitudes themselves must match too.
    np.testing.assert_allclose(ours, ref, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(random_programs(max_qubits=10))
def test_complex64_matches_qiskit(program):
    n, ops = program
    ours = simulate(build_ours(n, ops, dtype=torch.float32), dtype=torch.complex64, device="cpu").vector
    ref = qiskit_to_msb_first(Statevector(build_qiskit(n, ops)).data, n)
    assert _fidelity(ours.numpy().astype(np.complex128), ref) >= 1 - 1e-5


@settings(max_examples=40, deadline=None)
@given(random_programs(max_qubits=7, batch=3))
def test_batched_parameters_match_one_circuit_per_sample(program):
    n, ops = program
    state = simulate(build_ours(n, ops), dtype=torch.complex128, device="cpu")
    batched = any(any(op.batched) for op in ops)
    vectors = state.vector.numpy() if batched else state.vector.numpy()[None]
    assert vectors.shape == ((3 if batched else 1), 2**n)
    for b, ours in enumerate(vectors):
        ref = qiskit_to_msb_first(Statevector(build_qiskit(n, ops, sample=b)).data, n)
        np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_gate_table_covers_every_builder():
    """The random circuits above draw from every gate the issue lists."""
    names = {k.name for k in GATE_TABLE}
    wanted = {"i", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "p", "u", "rot",
              "cx", "cy", "cz", "ch", "swap", "iswap", "crx", "cry", "crz", "cp", "rxx", "ryy", "rzz",
              "ccx", "cswap", "mcx", "mcz", "mcp", "ctrl_u", "unitary2", "diagonal2", "permutation3",
              "global_phase"}  # fmt: skip
    assert wanted <= names
