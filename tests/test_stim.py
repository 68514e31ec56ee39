"""stim interop against stim itself (its samplers and detector error models) and against
the brute-force record distribution of ``tests/reference.py``."""

from __future__ import annotations

import numpy as np
import pytest
import stim
from scipy.stats import chi2

from hybrid import Circuit
from hybrid.interop.stim import from_stim, sample_measurements, to_stim
from hybrid.noise.replace import with_noise
from tests.reference import reference_records


def _generated(task: str, distance: int, rounds: int, p: float) -> stim.Circuit:
    return stim.Circuit.generated(
        task, distance=distance, rounds=rounds, after_clifford_depolarization=p, before_round_data_depolarization=p,
        before_measure_flip_probability=p, after_reset_flip_probability=p,
    )  # fmt: skip


def _chi_square_p(records: np.ndarray, exact: dict) -> float:
    """p-value of sampled records ``(shots, m)`` against an exact ``{bits: probability}``."""
    shots = len(records)
    keys = sorted(exact)
    index = {k: i for i, k in enumerate(keys)}
    observed = np.zeros(len(keys))
    for row in map(tuple, records.astype(int)):
        assert row in index, f"record {row} has probability 0"
        observed[index[row]] += 1
    expected = np.array([exact[k] for k in keys]) * shots
    keep = expected > 5
    stat = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum() + max(0.0, observed[~keep].sum() - expected[~keep].sum())
    return float(chi2.sf(stat, max(1, keep.sum() - 1)))


@pytest.mark.parametrize(
    "task, distance", [("repetition_code:memory", 3), ("repetition_code:memory", 5), ("surface_code:rotated_memory_z", 3)]
)
def test_round_trip_keeps_stims_detector_error_model(task, distance):
    original = _generated(task, distance, 2, 0.01)
    back = to_stim(from_stim(original))
    want = original.detector_error_model(decompose_errors=True).flattened()
    got = back.detector_error_model(decompose_errors=True).flattened()
    assert got.approx_equals(want, atol=1e-12)
    assert back.num_measurements == original.num_measurements


# Every supported kind of instruction, noiseless except M(p) and the inverted record.
PROGRAM = """
H 0
SQRT_Y 1
CX 0 2
ISWAP 1 2
S 2
MX 0
MY 1
M(0.2) 2
RX 0
CZ rec[-2] 2
CX rec[-1] 1
H_YZ 1
MR 1
SWAP 0 2
M !0 2
R 1
C_XYZ 1
MRY 1
"""


def test_noiseless_programs_give_stims_record_distribution():
    program = stim.Circuit(PROGRAM)
    ours = from_stim(program)
    exact = reference_records(ours)  # brute force on the converted circuit
    assert abs(sum(exact.values()) - 1) < 1e-12
    shots = 20000
    assert _chi_square_p(program.compile_sampler(seed=3).sample(shots), exact) > 1e-3  # stim agrees with it
    assert _chi_square_p(sample_measurements(program, shots, seed=4), exact) > 1e-3  # and so do we


@pytest.mark.parametrize(
    "task, distance, rounds, shots",
    [("repetition_code:memory", 3, 3, 20000), ("repetition_code:memory", 5, 2, 8000), ("surface_code:rotated_memory_z", 3, 1, 768)],
)
def test_detectors_and_logical_errors_agree_with_stim(task, distance, rounds, shots):
    import pymatching

    circuit = _generated(task, distance, rounds, 0.02)
    ours = sample_measurements(circuit, shots, seed=11)
    det, obs = circuit.compile_m2d_converter().convert(measurements=ours, separate_observables=True)
    ref_det, ref_obs = circuit.compile_detector_sampler(seed=12).sample(200000, separate_observables=True)
    rate, ref = det.mean(axis=0), ref_det.mean(axis=0)
    sigma = np.sqrt(ref * (1 - ref) / shots + ref * (1 - ref) / len(ref_det)) + 1e-12
    assert np.all(np.abs(rate - ref) < 5 * sigma), np.abs(rate - ref) / sigma
    matching = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    ler = np.any(matching.decode_batch(det) != obs, axis=1).mean()
    ref_ler = np.any(matching.decode_batch(ref_det) != ref_obs, axis=1).mean()
    joint = 2.576 * np.sqrt(ref_ler * (1 - ref_ler) / shots + ref_ler * (1 - ref_ler) / len(ref_det)) + 1.0 / shots
    assert abs(ler - ref_ler) < joint, (ler, ref_ler)


def _excited_repetition_code() -> stim.Circuit:
    """One round of the distance-3 repetition code with the data flipped to |1>, so that
    amplitude damping has something to do."""
    text = str(_generated("repetition_code:memory", 3, 1, 0.05).flattened())
    first_tick = text.index("TICK")
    return stim.Circuit(text[:first_tick] + "X 0 2 4\n" + text[first_tick:])


@pytest.mark.parametrize("noise", ["amplitude_damping", "thermal", "coherent_overrotation"])
def test_non_pauli_noise_matches_the_exact_record_distribution(noise):
    program = _excited_repetition_code()
    exact = reference_records(with_noise(from_stim(program), noise))  # the channels stim cannot hold, by brute force
    samples = sample_measurements(program, 20000, seed=5, noise=noise)
    assert _chi_square_p(samples, exact) > 1e-3
    pauli = reference_records(from_stim(program))
    assert max(abs(exact.get(k, 0) - pauli.get(k, 0)) for k in set(exact) | set(pauli)) > 1e-3  # it is different noise


def test_replacements_keep_the_twirled_strength_and_noise_modes():
    from hybrid.sim.instructions import Channel

    # Closed forms of each replacement's twirled error probability (hybrid.noise.replace).
    closed = {
        "amplitude_damping": lambda c: (lambda g: g / 2 + ((1 - np.sqrt(1 - g)) / 2) ** 2)(float(c.params[0])),
        "thermal": lambda c: 0.75 * (1 - np.exp(-float(c.params[2]))),  # T1 = T2 = 1, pe = 0
        "coherent_overrotation": lambda c: 1 - abs(complex(c.data[0, 0, 0])) ** 2,  # sin^2(theta/2)
    }
    kinds = {"amplitude_damping": "amplitude_damping", "thermal": "thermal_relaxation", "coherent_overrotation": "kraus"}
    base = from_stim(stim.Circuit("X_ERROR(0.03) 0\nDEPOLARIZE2(0.04) 0 1\nM 0 1"))
    per_wire = 1 - (1 - 0.04) ** 0.5  # two wires share the two-qubit channel's error
    for name in kinds:
        replaced = [op for op in with_noise(base, name).ops if isinstance(op, Channel)]
        assert [op.name for op in replaced] == [kinds[name]] * 3
        assert closed[name](replaced[0]) == pytest.approx(0.03, abs=1e-9)
        for op in replaced[1:]:
            assert closed[name](op) == pytest.approx(per_wire, abs=1e-9)
        added = with_noise(base, name, "add")
        assert sum(isinstance(op, Channel) for op in added.ops) == 2 + 3
    with pytest.raises(ValueError, match="unknown noise"):
        with_noise(base, "leakage")
    with pytest.raises(ValueError, match="noise_mode"):
        with_noise(base, "thermal", "instead")


def test_unsupported_instructions_are_named():
    with pytest.raises(ValueError, match="MPP"):
        from_stim(stim.Circuit("MPP X0*X1"))
    with pytest.raises(ValueError, match="HERALDED_ERASE"):
        from_stim(stim.Circuit("HERALDED_ERASE(0.1) 0"))
    with pytest.raises(ValueError, match=r"instruction (E|CORRELATED_ERROR) "):
        from_stim(stim.Circuit("CORRELATED_ERROR(0.1) X0"))


def test_to_stim_refuses_what_stim_cannot_hold():
    with pytest.raises(ValueError, match="not a Clifford gate"):
        to_stim(Circuit(1).rx(0.3, 0).measure(0))
    with pytest.raises(ValueError, match="twirl=True"):
        to_stim(Circuit(1).amplitude_damping(0.1, 0).measure(0))
    twirled = to_stim(Circuit(1).amplitude_damping(0.1, 0).measure(0), twirl=True)
    assert "PAULI_CHANNEL_1" in str(twirled)
    with pytest.raises(ValueError, match="records measurements in order"):
        to_stim(Circuit(2).measure(0, 1).measure(1, 0))
    # A Clifford given as a rotation is recognised by its tableau.
    assert to_stim(Circuit(1).rx(np.pi / 2, 0)).num_qubits == 1


def test_measurement_flips_and_inverted_records():
    shots = 20000
    flipped = sample_measurements(stim.Circuit("M(0.25) 0"), shots, seed=1)
    assert abs(flipped.mean() - 0.25) < 5 * np.sqrt(0.1875 / shots)
    assert sample_measurements(stim.Circuit("M !0"), 10, seed=1).all()


def test_batches_sized_to_memory_give_the_same_distribution():
    circuit = _generated("repetition_code:memory", 3, 2, 0.05)
    a = sample_measurements(circuit, 3000, seed=2, batch_size=7)
    b = sample_measurements(circuit, 3000, seed=2, batch_size=7)
    assert np.array_equal(a, b)  # seeded per batch: repeatable
    c = sample_measurements(circuit, 3000, seed=2)
    assert np.abs(a.mean(0) - c.mean(0)).max() < 5 * np.sqrt(0.25 / 3000) * np.sqrt(2)


def test_sinter_collects_with_our_sampler():
    import sinter

    from hybrid.interop.sinter import HybridSampler

    circuit = _generated("repetition_code:memory", 3, 2, 0.03)
    stats = sinter.collect(num_workers=1, tasks=[sinter.Task(circuit=circuit, json_metadata={})],
                           decoders=["hybrid"], custom_decoders={"hybrid": HybridSampler()}, max_shots=2000)  # fmt: skip
    (result,) = stats
    assert result.shots >= 2000 and result.decoder == "hybrid"
    ref = sinter.collect(num_workers=1, tasks=[sinter.Task(circuit=circuit, json_metadata={})],
                         decoders=["pymatching"], max_shots=100000)[0]  # fmt: skip
    rate, ref_rate = result.errors / result.shots, ref.errors / ref.shots
    assert abs(rate - ref_rate) < 2.576 * np.sqrt(ref_rate * (1 - ref_rate) / result.shots) + 2 / result.shots

