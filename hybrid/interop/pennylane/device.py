"""HybridQubitDevice: PennyLane's ``Device`` API over the hybrid engine."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pennylane as qml
import torch
from pennylane import math
from pennylane.devices import Device, ExecutionConfig
from pennylane.devices.modifiers import simulator_tracking, single_tape_support
from pennylane.devices.preprocess import (
    decompose,
    no_sampling,
    validate_adjoint_trainable_params,
    validate_device_wires,
    validate_measurements,
    validate_observables,
)
from pennylane.exceptions import DecompositionUndefinedError, DeviceError
from pennylane.measurements import ExpectationMP, SampleMeasurement, StateMeasurement
from pennylane.ops import CompositeOp, SymbolicOp
from pennylane.transforms import broadcast_expand, defer_measurements, split_non_commuting
from pennylane.transforms.core import CompilePipeline

import hybrid.sim as sim
from hybrid.sim.device import check_complex_dtype, resolve_device

from .autograd_bridge import autograd_measurements, has_autograd_params
from .convert import NATIVE_GATES, angle_gate, is_native, to_circuit
from .measure import analytic, pauli_sum, sampled

__all__ = ["HybridQubitDevice"]

_DTYPES = {
    "complex64": torch.complex64,
    "complex128": torch.complex128,
    np.dtype(np.complex64): torch.complex64,
    np.dtype(np.complex128): torch.complex128,
}


def _complex_dtype(dtype) -> torch.dtype:
    if dtype is None:
        return torch.complex128
    if isinstance(dtype, torch.dtype):
        return check_complex_dtype(dtype)
    key = dtype if isinstance(dtype, str) else np.dtype(dtype)
    if key not in _DTYPES:
        raise ValueError(f"hybrid.qubit runs in complex64 or complex128; got dtype {dtype!r}")
    return _DTYPES[key]


_BACKPROP_INTERFACES = (math.Interface.TORCH, math.Interface.AUTOGRAD, math.Interface.NUMPY, math.Interface.AUTO)


def _null(results):
    return results[0]


@qml.transform
def _expand_broadcast_with_shots(tape):
    """Sampling runs one circuit at a time: split a broadcast tape when it has shots."""
    if tape.shots and tape.batch_size:
        return broadcast_expand(tape)
    return (tape,), _null


@qml.transform
def _split_with_shots(tape):
    """Sampling needs each tape's observables to share one measurement basis."""
    if tape.shots and any(mp.obs is not None for mp in tape.measurements):
        return split_non_commuting(tape)
    return (tape,), _null


def _diagonalisable(obs) -> bool:
    if isinstance(obs, CompositeOp):
        return all(_diagonalisable(o) for o in obs.operands)
    if isinstance(obs, SymbolicOp):
        return _diagonalisable(obs.base)
    return obs.has_diagonalizing_gates


def _analytic_ok(mp) -> bool:
    if not isinstance(mp, StateMeasurement):
        return False
    return mp.obs is None or mp.obs.pauli_rep is not None or mp.obs.has_matrix  # Pauli kernels or dense matrix


def _sample_ok(mp) -> bool:
    return isinstance(mp, SampleMeasurement) and (mp.obs is None or _diagonalisable(mp.obs))


def _adjoint_op_ok(op) -> bool:
    """Natively run and, if trainable, differentiable by the engine's adjoint sweep."""
    if not is_native(op):
        return False
    trainable = any(math.requires_grad(d) for d in op.data)
    return not trainable or angle_gate(op)


def _adjoint_observable_ok(obs) -> bool:
    return pauli_sum(obs, {w: i for i, w in enumerate(obs.wires)}) is not None


@qml.transform
def _expval_only(tape):
    if not all(isinstance(mp, ExpectationMP) and mp.obs is not None for mp in tape.measurements):
        raise DeviceError(
            "hybrid.qubit's adjoint method differentiates expectation values of observables only; "
            "use diff_method='backprop' (torch) or 'parameter-shift' for probs/var/state."
        )
    return (tape,), _null


def _add_adjoint_transforms(program: CompilePipeline, wires) -> None:
    name = "adjoint + hybrid.qubit"
    program.add_transform(no_sampling, name=name)
    program.add_transform(
        decompose, stopping_condition=_adjoint_op_ok, device_wires=wires, target_gates=NATIVE_GATES, name=name
    )
    program.add_transform(_expval_only)
    program.add_transform(validate_observables, _adjoint_observable_ok, name=name)
    program.add_transform(broadcast_expand)
    program.add_transform(validate_adjoint_trainable_params)


@simulator_tracking
@single_tape_support
class HybridQubitDevice(Device):
    """A PennyLane device that runs tapes on the hybrid torch statevector engine.

    Args:
        wires: number of wires or their labels (any hashable); ``None`` takes the tape's.
        shots: default shots (PennyLane prefers ``qml.set_shots`` on the QNode).
        seed: seeds finite-shot sampling; the same seed gives the same samples.
        dtype: ``torch.complex128`` (default) or ``torch.complex64`` (also as numpy dtypes
            or strings); ``c_dtype`` is an alias, as on lightning.qubit.
        device: torch device for the state: ``"auto"`` (CUDA when present), ``"cpu"``...
    """

    _device_options = ()

    def __init__(self, wires=None, shots=None, seed=None, dtype=None, c_dtype=None, device="auto") -> None:
        super().__init__(wires=wires, shots=shots)
        if dtype is not None and c_dtype is not None and _complex_dtype(dtype) != _complex_dtype(c_dtype):
            raise ValueError(f"dtype={dtype!r} and c_dtype={c_dtype!r} disagree; pass one of them")
        self._dtype = _complex_dtype(dtype if dtype is not None else c_dtype)
        self._torch_device = resolve_device(device)
        self._rng = np.random.default_rng(seed)

    @property
    def name(self) -> str:
        return "hybrid.qubit"

    # --- configuration --------------------------------------------------------------------

    def supports_derivatives(self, execution_config: ExecutionConfig | None = None, circuit=None) -> bool:
        """Backprop with torch or autograd (analytic); the adjoint method for expvals."""
        if execution_config is None:
            return True
        method = execution_config.gradient_method
        if method in ("backprop", "best") and self._backprop_ok(execution_config, circuit):
            return True
        if method in ("adjoint", "best"):
            return self._adjoint_ok(circuit)
        return False

    @staticmethod
    def _backprop_ok(config: ExecutionConfig, circuit) -> bool:
        # Torch flows through the engine, autograd through a bridge of torch-backed
        # primitives; JAX/TF cannot. A QNode asks before its interface is known (NUMPY).
        if config.interface not in _BACKPROP_INTERFACES:
            return False
        return circuit is None or not circuit.shots

    def _adjoint_ok(self, circuit) -> bool:
        if circuit is None:
            return True
        program = CompilePipeline()
        program.add_transform(validate_device_wires, self.wires, name=self.name)
        _add_adjoint_transforms(program, self.wires)
        try:
            program((circuit,))
        except (DecompositionUndefinedError, DeviceError, AttributeError):
            return False
        return True

    def setup_execution_config(self, config: ExecutionConfig | None = None, circuit=None) -> ExecutionConfig:
        config = config or ExecutionConfig()
        if config.device_options:
            raise DeviceError(f"hybrid.qubit takes no device options; got {sorted(config.device_options)}")
        mcm = config.mcm_config
        if mcm.mcm_method not in (None, "deferred"):
            raise DeviceError(
                f"hybrid.qubit runs mid-circuit measurements with mcm_method='deferred' only; "
                f"got {mcm.mcm_method!r}"
            )
        method = config.gradient_method
        if method == "best":
            method = "backprop" if self._backprop_ok(config, circuit) else "adjoint"
        updates = {
            "gradient_method": method,
            "mcm_config": replace(mcm, mcm_method="deferred"),
        }
        if config.use_device_gradient is None:
            updates["use_device_gradient"] = method in ("adjoint", "backprop")
        if config.use_device_jacobian_product is None:
            updates["use_device_jacobian_product"] = False
        if config.grad_on_execution is None:
            updates["grad_on_execution"] = method == "adjoint"
        return replace(config, **updates)

    def preprocess_transforms(self, execution_config: ExecutionConfig | None = None) -> CompilePipeline:
        """Defer mid-circuit measurements, decompose to the native gates, validate."""
        config = execution_config or ExecutionConfig()
        program = CompilePipeline()
        program.add_transform(defer_measurements, allow_postselect=False)
        program.add_transform(
            decompose, stopping_condition=is_native, device_wires=self.wires, target_gates=NATIVE_GATES, name=self.name
        )
        program.add_transform(validate_device_wires, self.wires, name=self.name)
        program.add_transform(
            validate_measurements, analytic_measurements=_analytic_ok, sample_measurements=_sample_ok, name=self.name
        )
        program.add_transform(_expand_broadcast_with_shots)
        program.add_transform(_split_with_shots)
        if config.gradient_method == "backprop":
            program.add_transform(no_sampling, name="backprop + hybrid.qubit")
        if config.gradient_method == "adjoint":
            _add_adjoint_transforms(program, self.wires)
        return program

    # --- execution ------------------------------------------------------------------------

    def execute(self, circuits, execution_config: ExecutionConfig | None = None):
        return tuple(self._execute_one(tape) for tape in circuits)

    def _wire_order(self, tape):
        return list(self.wires) if self.wires is not None else list(tape.wires)

    def _execute_one(self, tape):
        if tape.shots:
            circuit, initial = to_circuit(tape.operations, self._wire_order(tape))
            psi = self._simulate(circuit, initial).amplitudes
            seed = int(self._rng.integers(2**31 - 1))
            return sampled(tape, psi, self._wire_order(tape), seed, self._dtype, self._torch_device)
        if has_autograd_params(tape):
            out = autograd_measurements(tape, self._analytic)
        else:
            out = tuple(_to_interface(r, tape) for r in self._analytic(tape))
        return out[0] if len(out) == 1 else out

    def _simulate(self, circuit, initial):
        return sim.simulate(circuit, initial_state=initial, dtype=self._dtype, device=self._torch_device)

    def _analytic(self, tape) -> tuple:
        """Exact results of ``tape`` as torch tensors, one per measurement."""
        wire_order = self._wire_order(tape)
        circuit, initial = to_circuit(tape.operations, wire_order)
        state = self._simulate(circuit, initial)
        return tuple(
            analytic(mp, state.amplitudes, wire_order, state.batched, self._dtype, self._torch_device)
            for mp in tape.measurements
        )

    # --- adjoint derivatives --------------------------------------------------------------

    def compute_derivatives(self, circuits, execution_config: ExecutionConfig | None = None):
        return tuple(self._adjoint(tape)[1] for tape in circuits)

    def execute_and_compute_derivatives(self, circuits, execution_config: ExecutionConfig | None = None):
        pairs = [self._adjoint(tape) for tape in circuits]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)

    def supports_vjp(self, execution_config: ExecutionConfig | None = None, circuit=None) -> bool:
        """A device VJP is the adjoint sweep itself: one backward sweep for all observables."""
        if execution_config is None:
            return True
        return execution_config.gradient_method == "adjoint" and self._adjoint_ok(circuit)

    def compute_vjp(self, circuits, cotangents, execution_config: ExecutionConfig | None = None):
        return tuple(self._adjoint(tape, cots)[1] for tape, cots in zip(circuits, cotangents))

    def execute_and_compute_vjp(self, circuits, cotangents, execution_config: ExecutionConfig | None = None):
        pairs = [self._adjoint(tape, cots) for tape, cots in zip(circuits, cotangents)]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)

    def _adjoint(self, tape, cotangents=None):
        """Results and, via the engine's adjoint sweep, the Jacobian of an expval-only tape
        (or, given ``cotangents``, the vector-Jacobian product)."""
        ops, leaves = _with_trainable_leaves(tape, real_dtype(self._dtype))
        wire_order = self._wire_order(tape)
        index = {w: i for i, w in enumerate(wire_order)}
        circuit, initial = to_circuit(ops, wire_order)
        observables = [pauli_sum(mp.obs, index) for mp in tape.measurements]
        with torch.enable_grad():  # PennyLane's torch interface calls us inside no_grad
            values = sim.expval(
                circuit, observables, initial_state=initial, dtype=self._dtype,
                device=self._torch_device, diff_method="adjoint",
            )  # fmt: skip  (n_obs,)
            if cotangents is None:
                derivative = _jacobian_format(_jacobian(values, leaves))
            else:
                derivative = _vjp(values, leaves, cotangents)
        results = tuple(np.asarray(v) for v in values.detach().cpu().numpy())
        return (results[0] if len(results) == 1 else results), derivative


def real_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.complex128 else torch.float32


def _with_trainable_leaves(tape, dtype: torch.dtype):
    """The tape's operations with each trainable gate parameter replaced by a fresh torch
    leaf that requires grad; ``leaves[j]`` is the leaf of trainable parameter j (``None``
    when it belongs to an observable, which the adjoint method does not differentiate)."""
    ops = list(tape.operations)
    n_ops = len(ops)
    leaves: list[torch.Tensor | None] = []
    new_data: dict[int, list] = {}
    for p in tape.trainable_params:
        info = tape.par_info[p]
        k, i = info["op_idx"], info["p_idx"]
        if k >= n_ops:
            leaves.append(None)
            continue
        data = new_data.setdefault(k, list(ops[k].data))
        leaf = torch.tensor(float(np.asarray(qml.math.unwrap(data[i]))), dtype=dtype, requires_grad=True)
        data[i] = leaf
        leaves.append(leaf)
    for k, data in new_data.items():
        ops[k] = qml.ops.functions.bind_new_parameters(ops[k], data)
    return ops, leaves


def _sweep(values: torch.Tensor, leaves: list, weights: np.ndarray) -> np.ndarray:
    """``sum_o weights[o] * d values[o] / d leaf`` for every leaf: one adjoint sweep; zero
    where a parameter does not reach the output (or belongs to an observable)."""
    out = np.zeros(len(leaves))
    trainable = [(j, t) for j, t in enumerate(leaves) if t is not None]
    if not trainable:
        return out
    w = torch.as_tensor(weights, dtype=values.dtype, device=values.device)
    grads = torch.autograd.grad(values, [t for _, t in trainable], grad_outputs=w, retain_graph=True, allow_unused=True)
    for (j, _), g in zip(trainable, grads):
        out[j] = 0.0 if g is None else float(g)
    return out


def _jacobian(values: torch.Tensor, leaves: list) -> np.ndarray:
    """``(n_obs, n_trainable)``: one adjoint sweep per observable."""
    eye = np.eye(values.shape[0])
    return np.stack([_sweep(values, leaves, row) for row in eye]) if len(leaves) else eye[:, :0]


def _vjp(values: torch.Tensor, leaves: list, cotangents):
    """PennyLane's VJP layout: one entry per trainable parameter. Cotangents are one number
    per measurement, or (batched, to build a Jacobian) one row of K numbers per measurement."""
    entries = [cotangents] if values.shape[0] == 1 else list(cotangents)
    rows = [np.asarray(qml.math.to_numpy(c), dtype=float) for c in entries]
    cot = np.stack([r.reshape(-1) for r in rows])  # (n_obs, K)
    columns = np.stack([_sweep(values, leaves, cot[:, k]) for k in range(cot.shape[1])], axis=-1)  # (P, K)
    batched = rows[0].ndim > 0
    return tuple(np.array(c if batched else c[0]) for c in columns)


def _jacobian_format(jac: np.ndarray):
    """PennyLane's nesting: measurements outside, parameters inside, singletons squeezed."""
    jac = np.squeeze(jac)
    if jac.ndim == 0:
        return np.array(jac)
    if jac.ndim == 1:
        return tuple(np.array(j) for j in jac)
    return tuple(tuple(np.array(x) for x in row) for row in jac)


def _to_interface(result, tape):
    """Torch in, torch out (on the inputs' device); otherwise numpy."""
    if not isinstance(result, torch.Tensor):
        return result
    torch_inputs = [p for p in tape.get_parameters(trainable_only=False) if isinstance(p, torch.Tensor)]
    if torch_inputs:
        return result.to(torch_inputs[0].device)
    return result.detach().cpu().numpy()
