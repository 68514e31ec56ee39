"""Quantum memory experiments: stim's repetition and rotated surface codes, simulated on our
engine under any noise, decoded with PyMatching.

:func:`memory_experiment` generates the code's memory circuit with stim (every noise knob at
``p``: depolarizing after Cliffords and on data qubits before each round, flips after resets
and before measurements), samples it -- on our engine by trajectories, or with stim itself
for the Pauli noise stim can hold -- and decodes the detection events with minimum-weight
perfect matching. With ``noise="depolarizing"`` the decoder is built from stim's detector
error model of the very circuit sampled. With a named non-Pauli noise (every Pauli channel
replaced by amplitude damping, thermal relaxation or a coherent over-rotation of the same
twirled error probability; :mod:`hybrid.noise.replace`) or a :class:`hybrid.noise.NoiseModel`,
it is built from the noisy circuit's Pauli twirl, the best a Pauli decoder can know; the
result says which.

Needs the ``qec`` extra: ``pip install 'hybrid[qec]'`` (stim, pymatching, sinter).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["CODES", "MemoryResult", "memory_circuit", "memory_experiment", "wilson_interval"]

CODES = {"repetition": "repetition_code:memory", "surface": "surface_code:rotated_memory_z"}
SIMULATORS = ("hybrid", "stim")


@dataclass(frozen=True)
class MemoryResult:
    """One memory experiment: logical errors over shots, with a 95% Wilson interval."""

    code: str
    distance: int
    rounds: int
    p: float
    noise: str
    simulator: str
    shots: int
    errors: int
    logical_error_rate: float
    interval: tuple[float, float]  # 95% Wilson score interval of the logical error rate
    n_qubits: int
    wall_time_s: float  # sampling and decoding
    decoder: str  # what the matching decoder was built from

    @property
    def seconds_per_shot(self) -> float:
        return self.wall_time_s / self.shots


def wilson_interval(errors: int, shots: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a binomial rate (95% by default)."""
    if shots <= 0:
        raise ValueError(f"shots must be positive; got {shots}")
    rate = errors / shots
    denom = 1 + z**2 / shots
    centre = (rate + z**2 / (2 * shots)) / denom
    half = z * math.sqrt(rate * (1 - rate) / shots + z**2 / (4 * shots**2)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def memory_circuit(code: str, distance: int, rounds: int, p: float):
    """stim's memory circuit for ``code`` with every noise knob at ``p``."""
    import stim

    if code not in CODES:
        raise ValueError(f"unknown code {code!r}; use one of {', '.join(CODES)}")
    if not 0 <= p <= 1:
        raise ValueError(f"the physical error rate p must be in [0, 1]; got {p}")
    return stim.Circuit.generated(
        CODES[code], distance=distance, rounds=rounds, after_clifford_depolarization=p,
        before_round_data_depolarization=p, before_measure_flip_probability=p, after_reset_flip_probability=p,
    )  # fmt: skip


def memory_experiment(
    code: str,
    distance: int,
    rounds: int,
    p: float,
    shots: int,
    *,
    seed: int | None = None,
    noise="depolarizing",
    decoder: str = "pymatching",
    simulator: str = "hybrid",
    dtype: torch.dtype = torch.complex64,
    batch_size: int | None = None,
    device: str | torch.device = "auto",
) -> MemoryResult:
    """Logical error rate of a ``distance``-``d`` memory over ``rounds`` rounds.

    ``noise``: ``"depolarizing"`` (stim's Pauli noise at ``p``), ``"amplitude_damping"``,
    ``"thermal"`` or ``"coherent_overrotation"`` (in place of each Pauli channel, same twirled
    strength), or a ``hybrid.noise.NoiseModel`` (on top of stim's noise at ``p``; pass
    ``p=0`` for the model alone). ``simulator="stim"`` samples with stim: the circuit itself
    for depolarizing noise, else the Pauli twirl of the noisy circuit (the approximation stim
    can represent; the result's ``noise`` says so). ``device``: where our engine runs.
    """
    import pymatching

    from hybrid.interop.stim import DECODER_NOTES, from_stim, sample_measurements, to_stim
    from hybrid.noise.replace import with_noise

    if decoder != "pymatching":
        raise ValueError(f"unknown decoder {decoder!r}; only 'pymatching' is available")
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; use one of {', '.join(SIMULATORS)}")
    circuit = memory_circuit(code, distance, rounds, p)
    extra, mode, label = _noise(noise)
    prepared = with_noise(from_stim(circuit), extra, mode)  # what our engine samples
    # The decoder (and stim, which can only sample Pauli noise) see the circuit's Pauli twirl.
    twirled = circuit if extra is None else to_stim(prepared, twirl=True)
    note = DECODER_NOTES[extra is None]
    if simulator == "stim" and extra is not None:
        label += " (Pauli twirl)"
    matching = pymatching.Matching.from_detector_error_model(twirled.detector_error_model(decompose_errors=True))
    start = time.perf_counter()
    if simulator == "stim":
        detections, flips = twirled.compile_detector_sampler(seed=seed).sample(shots, separate_observables=True)
    else:
        records = sample_measurements(prepared, shots, seed=seed, dtype=dtype, batch_size=batch_size, device=device)
        detections, flips = circuit.compile_m2d_converter().convert(measurements=records, separate_observables=True)
    predicted = matching.decode_batch(detections)
    errors = int(np.any(predicted != flips, axis=1).sum())
    wall = time.perf_counter() - start
    return MemoryResult(
        code, distance, rounds, p, label, simulator, shots, errors, errors / shots, wilson_interval(errors, shots),
        prepared.n_qubits, wall, note,
    )  # fmt: skip


def _noise(noise) -> tuple[object, str, str]:
    """``(what sample_measurements gets, mode, label)``."""
    from hybrid.noise.replace import REPLACEMENTS

    if noise == "depolarizing":
        return None, "replace", "depolarizing"
    if isinstance(noise, str):
        if noise not in REPLACEMENTS:
            raise ValueError(f"unknown noise {noise!r}; use 'depolarizing', one of {', '.join(REPLACEMENTS)}, "
                             "or a hybrid.noise.NoiseModel")  # fmt: skip
        return noise, "replace", noise
    return noise, "add", type(noise).__name__
