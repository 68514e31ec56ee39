"""Algorithm builders: functions that return ``hybrid`` circuits.

So far: the quantum Fourier transform and phase estimation (:mod:`circuits.qft`).
Grover, Shor-style factoring, VQE and QAOA are still to come.
"""
