"""Regression: a density-matrix run whose leading product-state block has batched factors."""

import torch

from hybrid.sim import Circuit, Parameter, simulate


def test_batched_product_state_prefix_in_density_matrix_runs():
    # The first gate acts on a later wire with a batched angle, so one factor of the loaded
    # product state has one row and the other one row per sample.
    c = Circuit(2)
    c.rx(Parameter("a"), 1)
    c.ry(0.3, 0)
    a = torch.tensor([0.1, 0.2, 0.7], dtype=torch.float64)
    rho = simulate(c, {"a": a}, method="density_matrix", dtype=torch.complex128)
    psi = simulate(c, {"a": a}, dtype=torch.complex128).vector  # (3, 4)
    expected = psi.unsqueeze(-1) * psi.conj().unsqueeze(-2)
    assert torch.allclose(rho.density_matrix(), expected, atol=1e-12)
