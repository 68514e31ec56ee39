"""A sinter sampler that simulates on our engine, so ``sinter.collect`` can run a task's
circuit under any noise beside stim's own sampling.

    import sinter
    from hybrid.interop.sinter import HybridSampler
    stats = sinter.collect(
        num_workers=2, tasks=[sinter.Task(circuit=c, json_metadata={"p": 0.01})],
        decoders=["hybrid"], custom_decoders={"hybrid": HybridSampler(noise="amplitude_damping")},
        max_shots=10_000,
    )

sinter calls a *sampler* for the whole job (simulate, then decode), where a *decoder* only
sees stim's samples; this one samples the task's circuit with
:func:`hybrid.interop.stim.sample_measurements` and decodes with PyMatching, built from
:func:`hybrid.interop.stim.decoder_model` (the Pauli twirl when the noise is not Pauli).
"""

from __future__ import annotations

import time

import numpy as np
import sinter
import torch

from .stim import decoder_model, sample_measurements

__all__ = ["HybridSampler"]


class HybridSampler(sinter.Sampler):
    """``noise``, ``noise_mode``, ``dtype``, ``batch_size``: as for ``sample_measurements``."""

    def __init__(self, noise=None, noise_mode: str = "replace", dtype: torch.dtype = torch.complex64,
                 batch_size: int | None = None):  # fmt: skip
        self.noise, self.noise_mode, self.dtype, self.batch_size = noise, noise_mode, dtype, batch_size

    def compiled_sampler_for_task(self, task: sinter.Task) -> sinter.CompiledSampler:
        return _CompiledHybridSampler(task.circuit, self)


class _CompiledHybridSampler(sinter.CompiledSampler):
    def __init__(self, circuit, options: HybridSampler):
        import pymatching

        from ..noise.replace import with_noise
        from .stim import from_stim

        self.options = options
        self.converter = circuit.compile_m2d_converter()
        # Converted once: every sample() call reuses the circuit (and its cached plan).
        self.prepared = with_noise(from_stim(circuit), options.noise, options.noise_mode)
        model, _ = decoder_model(circuit, options.noise, options.noise_mode)
        self.matching = pymatching.Matching.from_detector_error_model(model)
        self.seeds = np.random.SeedSequence()  # a fresh stream per worker

    def sample(self, suggested_shots: int) -> sinter.AnonTaskStats:
        start = time.perf_counter()
        shots = max(1, int(suggested_shots))
        seed = int(self.seeds.spawn(1)[0].generate_state(1)[0])
        records = sample_measurements(self.prepared, shots, seed=seed, dtype=self.options.dtype,
                                      batch_size=self.options.batch_size)  # fmt: skip
        detections, flips = self.converter.convert(measurements=records, separate_observables=True)
        errors = int(np.any(self.matching.decode_batch(detections) != flips, axis=1).sum())
        return sinter.AnonTaskStats(shots=shots, errors=errors, seconds=time.perf_counter() - start)
