"""Algorithm builders: functions that return ``hybrid`` circuits, and their classical counterparts.

- :mod:`circuits.qft`: quantum Fourier transform, its inverse, phase estimation.
- :mod:`circuits.grover`, :mod:`circuits.oracles`: Grover search from marked sets,
  predicates and CNF formulas; :mod:`circuits.search_classical`: brute-force search.
- :mod:`circuits.shor`, :mod:`circuits.arithmetic`: order finding and factoring, gate level
  (Beauregard) or with permutation oracles; :mod:`circuits.number_theory`: continued
  fractions, primality, trial division, Pollard's rho.
- :mod:`circuits.vqe`, :mod:`circuits.hamiltonians`: VQE for molecules (PennyLane's offline
  qchem) and spin chains; :mod:`circuits.qaoa`: QAOA MaxCut; :mod:`circuits.exact`: exact
  diagonalisation, brute-force and heuristic max cut.
- :mod:`circuits.ghz`: GHZ states and the closed forms of their parity under depolarizing noise.
- :mod:`circuits.noise`: the ``noise=`` argument of the builders (GHZ, Grover, QAOA, the VQE
  ansatze take any model with ``apply(circuit)``, such as ``hybrid.noise.NoiseModel``), two
  simple models (channels after every gate, one channel per wire at the end) and the
  global-depolarizing estimate.

Submodules are imported on demand (``import circuits.grover``), so nothing here pulls in
PennyLane or Qiskit.
"""
