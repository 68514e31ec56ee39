"""A statevector spread over processes: the same numbers with 1 or with 4 of them.

    python -m benchmarks.sharded_example                                   # one process
    torchrun --standalone --nproc_per_node 4 -m benchmarks.sharded_example  # four (gloo on CPU, NCCL on GPUs)

Every process runs this file; each holds 2**(n-k) of the 2**n amplitudes, and the
readouts (expectation values, probabilities, seeded samples, gradients) are global, so
every process gets the same values. Rank 0 prints them.
"""

from __future__ import annotations

import argparse

import torch

import hybrid
from hybrid import Parameter, X, Z


def circuit(n: int) -> hybrid.Circuit:
    c = hybrid.Circuit(n)
    for layer in range(3):
        for w in range(n):
            c.ry(Parameter(f"t{layer}_{w}"), w)
        for w in range(n):
            c.cx(w, (w + 1) % n)
    return c


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--qubits", type=int, default=16)
    args = p.parse_args(argv)
    n = args.qubits
    c = circuit(n)
    params = {name: torch.tensor(0.1 * (i + 1), dtype=torch.float64, requires_grad=True) for i, name in enumerate(c.parameters)}
    obs = Z(0) @ Z(n - 1) + 0.5 * X(0)
    energy = hybrid.expval(c, obs, params, dtype=torch.complex128, diff_method="adjoint", distributed=True)
    energy.backward()
    state = hybrid.simulate(c, {k: v.detach() for k, v in params.items()}, dtype=torch.complex128, distributed=True)
    probs = state.probs([0, 1])
    counts = state.counts(1000, wires=[0, 1, 2], seed=7)
    grad = params["t0_0"].grad.item()
    mine = state.local_vector  # readouts are collectives: every process calls them, not only rank 0
    if state.rank == 0:
        print(f"processes: {state.world_size}, qubits: {n}, amplitudes per process: {mine.numel()}")
        print(f"<Z0 Z{n - 1} + 0.5 X0> = {energy.item():.12f}")
        print(f"d/dt0_0 = {grad:.12f}")
        print("P(wires 0,1) =", [round(x, 12) for x in probs.tolist()])
        print("counts(wires 0,1,2; 1000 shots, seed 7) =", counts)


if __name__ == "__main__":
    main()
