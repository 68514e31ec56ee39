"""The state object's buffer policy: in-place runs swap two buffers and copy nothing."""

import numpy as np
import torch

from hybrid.sim import StateVector
from hybrid.sim.gates import Kind


def _random(rows: int, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    psi = torch.randn(rows, 2**n, dtype=torch.complex128, generator=g)
    return psi / psi.norm(dim=1, keepdim=True)


def _unitary(d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, dtype=torch.complex128, generator=g))
    return q.unsqueeze(0)


def test_in_place_blocks_ping_pong_between_the_two_lent_buffers():
    n, batch = 5, 2
    psi0 = _random(batch, n, 0)
    pair = StateVector.pair_buffer(psi0)
    first, spare = pair[:batch], pair[batch:]
    state = StateVector(first, n, inplace=True, spare=spare)
    u = _unitary(4, 1)
    state.apply_block(u, (1, 2))  # out of place into the spare: the buffers swap
    assert state.tensor.data_ptr() == spare.data_ptr()
    assert state.settle() == 1  # found in the spare: nothing copied back
    state.apply_block(u, (2, 3))
    assert state.tensor.data_ptr() == first.data_ptr() and state.settle() == 0
    # A generic step leaves the state in a fresh tensor: settle copies it into the first buffer.
    before = state.tensor.clone()
    state.apply(Kind.DENSE, _unitary(8, 2), (0, 2, 4))
    assert state.tensor.data_ptr() not in (first.data_ptr(), spare.data_ptr())
    moved = state.tensor.clone()
    assert state.settle() == 0 and state.tensor.data_ptr() == first.data_ptr()
    np.testing.assert_allclose(state.tensor.numpy(), moved.numpy())
    assert not torch.allclose(before, moved)


def test_per_sample_operators_spread_over_trajectories():
    n, batch, trajectories = 2, 3, 4
    psi = torch.zeros(batch * trajectories, 2**n, dtype=torch.complex128)
    psi[:, 0] = 1
    state = StateVector(psi, n, trajectories=trajectories)
    phases = torch.exp(1j * torch.tensor([[0.0, 0.1], [0.0, 0.2], [0.0, 0.3]], dtype=torch.float64))
    h = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128).unsqueeze(0) / np.sqrt(2)
    state.apply(Kind.DENSE, h, (1,))
    state.apply(Kind.DIAGONAL, phases, (1,))  # one phase per sample, (B, 2)
    rows = state.per_sample(state.tensor)  # (B, T, 4)
    for b, angle in enumerate((0.1, 0.2, 0.3)):
        want = np.array([1, np.exp(1j * angle), 0, 0]) / np.sqrt(2)
        np.testing.assert_allclose(rows[b].numpy(), np.broadcast_to(want, (trajectories, 4)), atol=1e-12)
    assert state.trajectory_mean(state.probs()).shape == (batch, 4)
