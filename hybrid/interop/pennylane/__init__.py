"""PennyLane device plugins: ``qml.device("hybrid.qubit", wires=...)`` (statevector) and
``qml.device("hybrid.mixed", wires=...)`` (density matrix) on the hybrid engine.

Registered through the ``pennylane.plugins`` entry point as
``hybrid.qubit = hybrid.interop.pennylane:HybridQubitDevice`` and ``hybrid.mixed =
hybrid.interop.pennylane:HybridMixedDevice``; built on PennyLane's
current ``pennylane.devices.Device`` API. Arguments: ``wires`` (a count or any hashable
labels, mapped to engine wires 0..n-1 in device wire order, so amplitudes are in
PennyLane's order), ``shots``, ``seed`` (sampling), ``dtype``/``c_dtype``
(``complex128`` default, ``complex64``) and ``device`` (``"auto"``: CUDA when present).

Native operations (run by the engine without decomposition): Identity, PauliX/Y/Z,
Hadamard, S, T, SX, RX/RY/RZ, PhaseShift, U1, U2, U3, Rot, CNOT, CY, CZ, CH, SWAP, ISWAP,
CSWAP, Toffoli, MultiControlledX (with control values), CRX/CRY/CRZ, CRot,
ControlledPhaseShift, IsingXX/YY/ZZ, QubitUnitary, DiagonalQubitUnitary, GlobalPhase, and
``Adjoint``/``Controlled`` (``C(...)``, ControlledQubitUnitary) of any of these. A leading
StatePrep/BasisState becomes the initial state. Everything else is decomposed by
PennyLane's ``decompose`` transform until it reaches that set. Mid-circuit measurements go
through PennyLane's ``defer_measurements`` (postselection is not supported).

Noise: PennyLane's channels (DepolarizingChannel, BitFlip, PhaseFlip, PauliError,
AmplitudeDamping, GeneralizedAmplitudeDamping, PhaseDamping, ThermalRelaxationError,
ResetError, QubitChannel) and QubitDensityMatrix are native too, as the engine's channels.
``hybrid.mixed`` (:mod:`.mixed`: this device with the engine's ``density_matrix`` method)
runs them exactly, analytic or with shots, with backprop gradients reaching the noise
parameters; ``qml.state()`` is then the density matrix, as on ``default.mixed``.
``hybrid.qubit`` runs them with finite shots only, one statevector trajectory per shot
(as Aer's statevector method does), and refuses an analytic noisy tape, naming
``hybrid.mixed``.

Measurements: expval, var, probs, state, density_matrix (and purity, entropies... via
PennyLane's ``process_state``) analytically; sample, counts, expval, var, probs with
shots. Observables with a real Pauli form (Pauli words, Sum/SProd/Prod/Hamiltonian of
them) use the engine's Pauli kernels; others (Hermitian, Projector, trainable
coefficients) their dense matrix on their own wires.

Broadcasting: a tape's broadcast parameters (``tape.batch_size``) become one batched
engine run; with shots the tape is split per batch entry first.

Structure and batches: tapes with the same operations and wires (values aside) share one
engine circuit and its compiled plan (:mod:`.compiled`), the values flowing in as a
vector; analytic tapes of one structure with exactly equal measurements, handed over
together (parameter shift's shifted tapes, many parameter sets), run as one batched call.

Shots and seeds: the final state is sampled by the engine's seeded inverse-CDF sampler;
each execution draws its seed from a ``numpy`` generator seeded by ``seed``, so the same
device seed reproduces the same sequence of results. Measurements sharing a measurement
basis share samples; non-commuting observables and sums are split into separate tapes.
Shot vectors sample the total once and split it into bins.

Derivatives: ``diff_method="backprop"`` with the torch interface runs autograd through
the engine (results stay torch tensors on the graph; analytic only); with the autograd
(numpy) interface the tape becomes one autograd primitive (one run for all its
measurements) whose VJP torch computes through the same graph, to any order (Hessians). JAX/TF cannot backprop here. ``"adjoint"`` uses
the engine's adjoint sweep (:func:`hybrid.sim.expval` with ``diff_method="adjoint"``)
for expectation values of Pauli observables, computing the Jacobian on the device
(``compute_derivatives``, one sweep per observable) or, with ``device_vjp=True``, the
vector-Jacobian product in a single sweep (``compute_vjp``: the adjoint sweep weighted by
the cotangents); trainable matrices are decomposed into rotations first.
``"best"`` picks backprop for torch/autograd without shots, else adjoint where it applies;
PennyLane falls back to parameter-shift otherwise (e.g. finite shots).
"""

from .device import HybridQubitDevice
from .mixed import HybridMixedDevice

__all__ = ["HybridQubitDevice", "HybridMixedDevice"]
