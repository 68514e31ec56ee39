"""HybridMixedDevice: ``qml.device("hybrid.mixed", wires=...)``, the exact density-matrix device.

It is :class:`~.device.HybridQubitDevice` with the engine's ``density_matrix`` method:
the same conversion (PennyLane's noise channels are native in both, see
:mod:`.convert`), shared circuits, batching, measurements and shots. What differs:

* every tape runs as a density matrix rho (16 * 4**n bytes per sample in complex128), so
  channels need no shots and results are exact, as on ``default.mixed``;
* ``qml.state()`` returns rho ``(2**n, 2**n)``; ``density_matrix(wires)``, purity and
  entropies are computed from it;
* derivatives: backprop only (torch through the engine, autograd through the bridge), so
  gradients reach gate angles and noise parameters alike; the adjoint sweep needs a pure
  state and is not offered (PennyLane falls back to parameter-shift with shots).
"""

from __future__ import annotations

from pennylane.devices import ExecutionConfig
from pennylane.transforms.core import CompilePipeline

import hybrid.sim as sim

from .device import HybridQubitDevice

__all__ = ["HybridMixedDevice"]


class HybridMixedDevice(HybridQubitDevice):
    """A PennyLane device that runs tapes as density matrices on the hybrid torch engine.

    Args: as :class:`~.device.HybridQubitDevice` (``wires``, ``shots``, ``seed``,
    ``dtype``/``c_dtype``, ``device``).
    """

    # The base class's tracking and single-tape modifiers are inherited (applying them
    # again would wrap its methods twice).
    short_name = "hybrid.mixed"
    _fallback_gradient = "parameter-shift"

    def _adjoint_ok(self, circuit) -> bool:
        return False  # the adjoint sweep runs on a pure state

    def _check_noise(self, program: CompilePipeline) -> None:
        """Channels run exactly here, with or without shots."""

    def _run_options(self, tape, circuit: sim.Circuit) -> dict:
        return {"method": "density_matrix"}

    def supports_vjp(self, execution_config: ExecutionConfig | None = None, circuit=None) -> bool:
        return False
