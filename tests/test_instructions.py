"""The instruction protocol and the read-only circuit: no stale plan can be reused."""

import numpy as np
import pytest
import torch

from hybrid import Circuit, simulate
from hybrid.sim import Measure, Operation
from hybrid.sim import gates as g

from .reference import reference_state


def test_ops_cannot_be_mutated_behind_the_plan_cache():
    c = Circuit(2).h(0)
    before = simulate(c, dtype=torch.complex128).vector
    with pytest.raises(AttributeError):
        c.ops.append(Operation(g.X, (1,)))
    with pytest.raises(TypeError):
        c.ops[0] = Operation(g.X, (0,))
    # The only way in is a builder, which bumps the version: the next run sees the gate.
    c.append(Operation(g.X, (1,)))
    after = simulate(c, dtype=torch.complex128).vector
    np.testing.assert_allclose(after.numpy(), reference_state(Circuit(2).h(0).x(1)), atol=1e-12)
    assert not torch.allclose(before, after)


def test_copy_is_independent_of_the_original():
    c = Circuit(2).h(0)
    simulate(c)
    d = c.copy().cx(0, 1)
    assert len(c) == 1 and len(d) == 2
    np.testing.assert_allclose(simulate(c, dtype=torch.complex128).vector.numpy(), reference_state(Circuit(2).h(0)))


def test_remap_inverse_and_control_follow_the_protocol():
    op = Operation(g.RY, (1,), (0.3,), controls=(0,), control_values=(1,))
    moved = op.remap({0: 2, 1: 0})
    assert moved.wires == (0,) and moved.controls == (2,) and moved.params == (0.3,)
    assert op.inverse().adjoint and not op.inverse().inverse().adjoint
    wider = op.controlled((3,), (0,))
    assert wider.controls == (3, 0) and wider.control_values == (0, 1) and wider.name == "ccry"
    m = Measure(1, 0, reset=True)
    assert m.remap([5, 4], [2]) == Measure(4, 2, reset=True)
    assert m.name == "measure" and Measure(0, None, reset=True).name == "reset"
    with pytest.raises(ValueError, match="cannot invert"):
        m.inverse()
    with pytest.raises(ValueError, match="cannot control"):
        m.controlled((0,), (1,))
    with pytest.raises(ValueError, match="cannot be classically conditioned"):
        c = Circuit(2)
        with c.when(0):
            c.append(m)


def test_compose_remaps_wires_and_classical_bits_of_every_kind():
    inner = Circuit(2).h(0).measure(0, 0)
    with inner.when(0):
        inner.x(1)
    outer = Circuit(3, 2).compose(inner, wires=[2, 0], clbits=[1])
    measure = next(op for op in outer.ops if isinstance(op, Measure))
    conditioned = next(op for op in outer.ops if op.condition is not None)
    assert measure == Measure(2, 1) and conditioned.wires == (0,) and conditioned.condition.clbits == (1,)
    assert outer.count_ops() == {"h": 1, "measure": 1, "x": 1}
    assert not outer.is_unitary and Circuit(1).h(0).is_unitary
    with pytest.raises(ValueError, match="cannot control"):
        Circuit(3).ctrl(0, inner, wires=[1, 2])
