"""Memory experiments: our engine against stim on the Pauli noise both can run, and the
physics of noise stim cannot hold."""

from __future__ import annotations

import math

import pytest

from circuits.qec import memory_experiment, wilson_interval


def _joint_99(a, b) -> float:
    """Half-width of a 99% interval for the difference of two binomial rates."""
    pooled = (a.errors + b.errors) / (a.shots + b.shots)
    return 2.576 * math.sqrt(pooled * (1 - pooled) * (1 / a.shots + 1 / b.shots)) + 1 / min(a.shots, b.shots)


def test_repetition_code_logical_error_rate_matches_stim():
    ours = memory_experiment("repetition", 3, 3, 0.03, 10000, seed=1)
    stims = memory_experiment("repetition", 3, 3, 0.03, 200000, seed=2, simulator="stim")
    assert abs(ours.logical_error_rate - stims.logical_error_rate) < _joint_99(ours, stims)
    assert ours.n_qubits == 5 and ours.shots == 10000 and ours.simulator == "hybrid"
    lo, hi = ours.interval
    assert lo <= ours.logical_error_rate <= hi
    assert "stim's detector error model" in ours.decoder


def test_amplitude_damping_cannot_flip_a_z_memory_of_zeros_but_its_twirl_does():
    # Data qubits stay in |0>: damping only moves |1> to |0>, so the exact channel causes no
    # logical error while its Pauli twirl (bit flips with probability gamma/4) does.
    ours = memory_experiment("repetition", 3, 2, 0.05, 4000, seed=3, noise="amplitude_damping")
    twirl = memory_experiment("repetition", 3, 2, 0.05, 100000, seed=4, noise="amplitude_damping", simulator="stim")
    assert ours.errors == 0
    assert twirl.interval[0] > 0 and "Pauli twirl" in twirl.noise
    assert "twirl" in ours.decoder


def test_coherent_overrotation_exceeds_its_pauli_twirl_after_several_rounds():
    # Over-rotations add in amplitude round after round; their twirl adds in probability.
    ours = memory_experiment("repetition", 3, 5, 0.01, 6000, seed=5, noise="coherent_overrotation")
    twirl = memory_experiment("repetition", 3, 5, 0.01, 200000, seed=6, noise="coherent_overrotation", simulator="stim")
    assert ours.interval[0] > twirl.interval[1], (ours, twirl)


def test_wilson_interval_and_bad_input():
    lo, hi = wilson_interval(0, 100)
    assert lo < 1e-12 and 0.02 < hi < 0.05  # the "rule of three" scale
    with pytest.raises(ValueError, match="unknown code"):
        memory_experiment("color", 3, 1, 0.01, 10)
    with pytest.raises(ValueError, match="unknown decoder"):
        memory_experiment("repetition", 3, 1, 0.01, 10, decoder="union-find")
    with pytest.raises(ValueError, match="unknown noise"):
        memory_experiment("repetition", 3, 1, 0.01, 10, noise="leakage")
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        memory_experiment("repetition", 3, 1, 1.5, 10)

