"""Circuits for the sharded-state tests: every gate kind, on any wires (shared by the
in-process and the torchrun tests)."""

from __future__ import annotations

import numpy as np
import torch

from hybrid import Circuit, Parameter


def _u(rng, d):
    z = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / abs(np.diag(r)))


# name -> (wires it takes, builder(circuit, wires, angle, rng)); the angle is a Parameter or a float.
GATES = {
    "h": (1, lambda c, w, a, rng: c.h(*w)),
    "x": (1, lambda c, w, a, rng: c.x(*w)),
    "y": (1, lambda c, w, a, rng: c.y(*w)),
    "z": (1, lambda c, w, a, rng: c.z(*w)),
    "s": (1, lambda c, w, a, rng: c.s(*w)),
    "tdg": (1, lambda c, w, a, rng: c.tdg(*w)),
    "sx": (1, lambda c, w, a, rng: c.sx(*w)),
    "rx": (1, lambda c, w, a, rng: c.rx(a, *w)),
    "ry": (1, lambda c, w, a, rng: c.ry(a, *w)),
    "rz": (1, lambda c, w, a, rng: c.rz(a, *w)),
    "p": (1, lambda c, w, a, rng: c.p(a, *w)),
    "u": (1, lambda c, w, a, rng: c.u(a, 0.3, -0.7, *w)),
    "rot": (1, lambda c, w, a, rng: c.rot(0.2, a, 0.9, *w)),
    "global_phase": (0, lambda c, w, a, rng: c.global_phase(a)),
    "cx": (2, lambda c, w, a, rng: c.cx(*w)),
    "cy": (2, lambda c, w, a, rng: c.cy(*w)),
    "cz": (2, lambda c, w, a, rng: c.cz(*w)),
    "ch": (2, lambda c, w, a, rng: c.ch(*w)),
    "swap": (2, lambda c, w, a, rng: c.swap(*w)),
    "iswap": (2, lambda c, w, a, rng: c.iswap(*w)),
    "crx": (2, lambda c, w, a, rng: c.crx(a, *w)),
    "cry": (2, lambda c, w, a, rng: c.cry(a, *w)),
    "crz": (2, lambda c, w, a, rng: c.crz(a, *w)),
    "cp": (2, lambda c, w, a, rng: c.cp(a, *w)),
    "rxx": (2, lambda c, w, a, rng: c.rxx(a, *w)),
    "ryy": (2, lambda c, w, a, rng: c.ryy(a, *w)),
    "rzz": (2, lambda c, w, a, rng: c.rzz(a, *w)),
    "ccx": (3, lambda c, w, a, rng: c.ccx(*w)),
    "cswap": (3, lambda c, w, a, rng: c.cswap(*w)),
    "mcx01": (3, lambda c, w, a, rng: c.mcx(w[:2], w[2], control_values=[0, 1])),
    "mcz": (3, lambda c, w, a, rng: c.mcz(w[:2], w[2])),
    "unitary2": (2, lambda c, w, a, rng: c.unitary(_u(rng, 4), w)),
    "diagonal2": (2, lambda c, w, a, rng: c.diagonal(np.exp(1j * rng.uniform(0, 6, 4)), w)),
    "diagonal3": (3, lambda c, w, a, rng: c.diagonal(np.exp(1j * rng.uniform(0, 6, 8)), w)),
    "permutation2": (2, lambda c, w, a, rng: c.permutation(rng.permutation(4), w)),
    "cunitary": (3, lambda c, w, a, rng: c.ctrl([w[0]], _one_unitary(rng, w[1:]))),
}


def _one_unitary(rng, wires):
    n = max(wires) + 1
    inner = Circuit(n)
    inner.unitary(_u(rng, 4), list(wires))
    return inner


def random_circuit(n: int, depth: int, seed: int, kinds=None, parametrised: bool = True):
    """``(circuit, params)``: ``depth`` random gates of ``kinds`` (default: all) on random wires;
    angles are Parameters (so gradients can be compared) bound to random values."""
    rng = np.random.default_rng(seed)
    kinds = list(GATES) if kinds is None else list(kinds)
    c = Circuit(n)
    values = {}
    for j in range(depth):
        name = kinds[rng.integers(len(kinds))]
        width, build = GATES[name]
        wires = [int(w) for w in rng.choice(n, size=width, replace=False)]
        angle: object = float(rng.uniform(-np.pi, np.pi))
        if parametrised:
            values[f"a{j}"] = angle
            angle = Parameter(f"a{j}")
        build(c, wires, angle, rng)
    used = set(c.parameters)
    return c, {k: v for k, v in values.items() if k in used}


def tensor_params(values: dict, dtype=torch.float64, grad: bool = False) -> dict:
    return {k: torch.tensor(v, dtype=dtype, requires_grad=grad) for k, v in values.items()}
