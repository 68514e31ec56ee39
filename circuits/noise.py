"""Noise for the algorithm builders: the one helper behind every builder's ``noise=``, two
small noise models, and the global-depolarizing estimate the benchmarks compare against.

A builder's ``noise`` is any object with ``apply(circuit) -> Circuit`` (a
:class:`hybrid.noise.NoiseModel`, or :class:`GateNoise` / :class:`NoiseAtEnd` here);
``None`` builds the noiseless circuit. The circuit a builder returns already holds the
channels, so simulate it with ``method="density_matrix"`` or ``"trajectories"`` (or
``"auto"``) and do not hand the same model to ``simulate(noise=...)`` as well: that would
insert its channels a second time. Readout errors are not channels; a model's
``readout_errors`` apply only through ``simulate(noise=...)``.

The models here are deliberately simple, so that closed forms exist:

- :class:`GateNoise`: channels after every gate (the "depolarizing after every gate" model
  that Aer and PennyLane can express the same way): one-wire gates get the one-wire
  channel, two-wire gates the two-wire channel (or the one-wire channel on each wire), and
  wider gates (an MCZ is one gate here) the one-wire channel on each of their wires.
- :class:`NoiseAtEnd`: one channel on every wire after the whole circuit, e.g. GHZ with
  per-qubit depolarizing, where ``<X...X> = (1 - 4p/3)**n``.

:func:`global_depolarizing_fidelity` is the white-noise estimate: every channel location
``i`` has a Pauli-twirled error probability ``eps_i = 1 - sum_k |Tr K_k|^2 / d^2`` (for
``depolarizing(p)`` and ``two_qubit_depolarizing(p)`` exactly ``p``), and the state is
modelled as ``F rho_ideal + (1 - F) I / 2**n`` with ``F = prod_i (1 - eps_i)``: any error
is assumed to scramble the output completely.
"""

from __future__ import annotations

import math
from typing import Callable


from hybrid.sim import Channel, Circuit, Operation
from hybrid.sim import gates as _gates
from hybrid.noise.replace import numeric_kraus
from hybrid.sim.channels import pauli_twirl

__all__ = ["with_noise", "GateNoise", "NoiseAtEnd", "pauli_error_rate", "global_depolarizing_fidelity"]


def with_noise(circuit: Circuit, noise) -> Circuit:
    """``circuit`` itself when ``noise`` is None, else ``noise.apply(circuit)`` (checked)."""
    if noise is None:
        return circuit
    apply = getattr(noise, "apply", None)
    if not callable(apply):
        raise TypeError(
            f"noise must be None or a noise model with apply(circuit) -> Circuit (such as "
            f"hybrid.noise.NoiseModel or circuits.noise.GateNoise); got {type(noise).__name__}"
        )
    noisy = apply(circuit)
    if not isinstance(noisy, Circuit):
        raise TypeError(f"{type(noise).__name__}.apply() returned {type(noisy).__name__}, not a hybrid Circuit")
    return noisy


def _is_gate(op) -> bool:
    return isinstance(op, Operation) and bool(op.all_wires) and op.gate is not _gates.GLOBAL_PHASE


WireChannel = Callable[[Circuit, int, int], object]  # (circuit, wire, width of the gate) -> adds channels
PairChannel = Callable[[Circuit, int, int], object]  # (circuit, wire a, wire b) -> adds channels


class GateNoise:
    """Channels after every gate of a circuit (measurements and channels get none).

    ``on_wire(circuit, wire, width)`` adds the channel for one wire of a gate acting on
    ``width`` wires; ``on_pair(circuit, a, b)``, when given, replaces it for two-wire gates.
    A conditioned gate gets its noise whether or not its condition held in a trajectory.
    Use the constructors :meth:`depolarizing` and :meth:`thermal`.
    """

    def __init__(self, on_wire: WireChannel, on_pair: PairChannel | None = None, *, description: str = "custom"):
        self._on_wire = on_wire
        self._on_pair = on_pair
        self.description = description

    def __repr__(self) -> str:
        return f"GateNoise({self.description})"

    @classmethod
    def depolarizing(cls, p: float) -> "GateNoise":
        """``depolarizing(p)`` after one-wire gates (and on each wire of wider gates),
        ``two_qubit_depolarizing(p)`` after two-wire gates. In Aer's terms:
        ``depolarizing_error(4p/3, 1)`` and ``depolarizing_error(16p/15, 2)``."""
        return cls(
            lambda c, w, k: c.depolarizing(p, w),
            lambda c, a, b: c.two_qubit_depolarizing(p, a, b),
            description=f"depolarizing p={p:g} after every gate",
        )

    @classmethod
    def thermal(
        cls, t1: float, t2: float, time_1q: float, time_2q: float, excited_population: float = 0.0
    ) -> "GateNoise":
        """``thermal_relaxation(t1, t2, time)`` on every wire of every gate, for the gate's
        duration: ``time_1q`` for one-wire gates, ``time_2q`` for wider ones."""
        return cls(
            lambda c, w, k: c.thermal_relaxation(t1, t2, time_1q if k == 1 else time_2q, w, excited_population),
            description=f"thermal relaxation T1={t1:g} T2={t2:g}, gate times {time_1q:g}/{time_2q:g}",
        )

    def apply(self, circuit: Circuit) -> Circuit:
        """A new circuit: ``circuit``'s instructions, each gate followed by its channels."""
        out = Circuit(circuit.n_qubits, circuit.n_clbits)
        out.annotations = circuit.annotations
        for op in circuit.ops:
            out.append(op)
            if not _is_gate(op):
                continue
            wires = op.all_wires
            if len(wires) == 2 and self._on_pair is not None:
                self._on_pair(out, *wires)
            else:
                for w in wires:
                    self._on_wire(out, w, len(wires))
        return out

    def readout_errors(self, n_qubits: int) -> dict:
        """None here (the simulate(noise=...) protocol): these models have no readout error."""
        return {}


class NoiseAtEnd:
    """One channel on every wire (or the given ``wires``) after the whole circuit."""

    def __init__(self, on_wire: Callable[[Circuit, int], object], wires=None, *, description: str = "custom"):
        self._on_wire = on_wire
        self.wires = None if wires is None else tuple(wires)
        self.description = description

    def __repr__(self) -> str:
        return f"NoiseAtEnd({self.description})"

    @classmethod
    def depolarizing(cls, p: float, wires=None) -> "NoiseAtEnd":
        """``depolarizing(p)`` once on each wire at the end (GHZ: ``<X...X> = (1 - 4p/3)**n``)."""
        return cls(lambda c, w: c.depolarizing(p, w), wires, description=f"depolarizing p={p:g} on each wire at the end")

    def apply(self, circuit: Circuit) -> Circuit:
        out = circuit.copy()
        for w in range(circuit.n_qubits) if self.wires is None else self.wires:
            self._on_wire(out, w)
        return out

    def readout_errors(self, n_qubits: int) -> dict:
        return {}


def pauli_error_rate(channel: Channel) -> float:
    """The Pauli-twirled error probability of one channel, ``1 - sum_k |Tr K_k|^2 / d^2``.

    This is the probability that the twirled channel applies a non-identity Pauli:
    ``p`` for ``depolarizing(p)`` and ``two_qubit_depolarizing(p)``; for thermal relaxation
    (no excited population) ``(1 - exp(-t/T1))/4 + (1 - exp(-t/T2))/2``.
    """
    if not isinstance(channel, Channel):
        raise TypeError(f"expected a noise Channel instruction; got {type(channel).__name__}")
    return 1 - float(pauli_twirl(numeric_kraus(channel))[0])


def global_depolarizing_fidelity(circuit: Circuit) -> tuple[float, int]:
    """``(F, locations)``: ``F = prod_i (1 - eps_i)`` over the circuit's channels (see
    :func:`pauli_error_rate`) and how many channels there are."""
    log_f, count = 0.0, 0
    for op in circuit.ops:
        if isinstance(op, Channel):
            log_f += math.log1p(-min(pauli_error_rate(op), 1.0 - 1e-300))
            count += 1
    return math.exp(log_f), count
