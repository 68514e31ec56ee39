"""Every error path says what is wrong (and, where there is one, the way out)."""

import time

import numpy as np
import pytest
import torch

from hybrid import Circuit, MemoryLimitError, Parameter, X, Z, parse_observable, simulate
from hybrid.sim import memory
from hybrid.sim.gates import gate_by_name


def test_fewer_than_one_qubit():
    with pytest.raises(ValueError, match="at least one qubit"):
        Circuit(0)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda c: c.x(3), "uses wire 3 but has 3 qubit"),
        (lambda c: c.h(-1), "uses wire -1"),
        (lambda c: c.cx(1, 1), "uses a wire twice"),
        (lambda c: c.mcx([0, 2], 2), "uses a wire twice"),
        (lambda c: c.rx(0.1, 1.5), "wires are integers"),
    ],
)
def test_bad_wires(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build(Circuit(3))


def test_wrong_parameter_count_and_shape():
    from hybrid.sim import gates as g

    with pytest.raises(ValueError, match="takes 1 parameter"):
        Circuit(1).apply(g.RX, 0, (0.1, 0.2))
    with pytest.raises(ValueError, match="acts on 2 wire"):
        Circuit(2).apply(g.SWAP, 0)
    with pytest.raises(ValueError, match="got shape \\(2, 2\\)"):
        Circuit(1).rx(torch.zeros(2, 2), 0)
    with pytest.raises(TypeError, match="complex"):
        Circuit(1).rx(torch.zeros(2, dtype=torch.complex64), 0)
    c = Circuit(1).rx(Parameter("a"), 0).ry(Parameter("b"), 0)
    with pytest.raises(ValueError, match="2 parameter.*but 1 value"):
        simulate(c, [0.1])
    with pytest.raises(ValueError, match="no value bound for parameter.*'b'"):
        simulate(c, {"a": 0.1})
    with pytest.raises(ValueError, match="unknown parameter name.*'zz'"):
        simulate(c, {"a": 0.1, "b": 0.2, "zz": 1.0})


def test_non_unitary_and_bad_data_gates():
    with pytest.raises(ValueError, match="not unitary"):
        Circuit(1).unitary([[1, 1], [0, 1]], [0])
    with pytest.raises(ValueError, match="shape \\(4, 4\\)"):
        Circuit(2).unitary(np.eye(2), [0, 1])
    with pytest.raises(ValueError, match="modulus 1"):
        Circuit(1).diagonal([1, 0.5], [0])
    with pytest.raises(ValueError, match="permutation of 0..3"):
        Circuit(2).permutation([0, 1, 1, 2], [0, 1])


def test_batch_size_mismatch_names_the_inputs():
    c = Circuit(2).rx(torch.zeros(3), 0).ry(torch.zeros(4), 1)
    with pytest.raises(ValueError, match="batch-size mismatch.*batch 3.*batch 4"):
        simulate(c)
    with pytest.raises(ValueError, match="batch-size mismatch.*initial_state has batch 2"):
        simulate(Circuit(1).rx(torch.zeros(3), 0), initial_state=torch.eye(2)[[0, 0]])


def test_bad_initial_state_and_options():
    with pytest.raises(ValueError, match="normalised"):
        simulate(Circuit(1), initial_state=torch.tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match="shape \\(4,\\)"):
        simulate(Circuit(2), initial_state=torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="out of range"):
        simulate(Circuit(2), initial_state=4)
    with pytest.raises(ValueError, match="complex64 or torch.complex128"):
        simulate(Circuit(1), dtype=torch.float32)
    with pytest.raises(ValueError, match="unknown device"):
        simulate(Circuit(1), device="tpu9")


def test_measurement_and_observable_errors():
    s = simulate(Circuit(2).h(0))
    with pytest.raises(ValueError, match="out of range for a 2-qubit state"):
        s.probs([2])
    with pytest.raises(ValueError, match="acts on wire 5"):
        s.expval(Z(5))
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        s.sample(0)
    with pytest.raises(ValueError, match="cannot read 'Q1'"):
        parse_observable("Z0 + Q1")
    with pytest.raises(ValueError, match="different wires"):
        X(0) @ Z(0)
    with pytest.raises(ValueError, match="cannot invert"):
        Circuit(1).measure(0).inverse()
    c = Circuit(2)
    with pytest.raises(ValueError, match="cannot be classically conditioned"):
        with c.when(0):
            c.measure(1)


def test_unknown_gate_name_at_the_edge():
    assert gate_by_name("RX").name == "rx"
    with pytest.raises(ValueError, match="unknown gate name 'frob'.*known gates"):
        gate_by_name("frob")


def test_forty_qubits_refused_before_any_allocation():
    c = Circuit(40).h(0)
    start = time.perf_counter()
    with pytest.raises(MemoryLimitError, match=r"40 qubits x batch 1 in complex64 needs about .*TiB.* free on cpu -- .*fewer qubits"):
        simulate(c, device="cpu")
    assert time.perf_counter() - start < 5  # refused up front, nothing of 8 TiB was touched


def test_memory_guard_names_the_ways_out(monkeypatch):
    monkeypatch.setattr(memory, "free_bytes", lambda device: 2**30)  # pretend 1 GiB is free
    x = torch.zeros(512)
    with pytest.raises(MemoryLimitError) as info:
        simulate(Circuit(20).rx(x, 0), dtype=torch.complex128, device="cpu")
    msg = str(info.value)
    assert "20 qubits x batch 512 in complex128" in msg and "1.0 GiB free" in msg
    assert "lower the batch" in msg and "use complex64" in msg
    # Backpropagation keeps a state per gate, and the estimate says so.
    monkeypatch.setattr(memory, "free_bytes", lambda device: 64 * 2**20)  # 64 MiB; a state is 8 MiB
    w = torch.zeros((), requires_grad=True)
    deep = Circuit(20).rx(w, 0).ry(w, 1).rz(w, 2).rx(w, 3).ry(w, 4).rz(w, 5)
    with pytest.raises(MemoryLimitError, match="without autograd"):
        simulate(deep, device="cpu")
    with torch.no_grad():
        simulate(deep, device="cpu")  # without the per-gate states it fits


def test_initial_state_as_a_list_and_bad_shapes():
    assert simulate(Circuit(1).h(0), initial_state=[0.6, 0.8], dtype=torch.complex128).probs().tolist() == pytest.approx(
        [0.98, 0.02]
    )
    with pytest.raises(ValueError, match="initial_state must have shape"):
        simulate(Circuit(1), initial_state=torch.tensor(1.0))
    from hybrid import expval

    c = Circuit(2)
    with c.when(0):
        c.x(1)
    with pytest.raises(ValueError, match="classically conditioned"):
        expval(c, Z(0), diff_method="adjoint")
