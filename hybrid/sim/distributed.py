"""The process group a sharded simulation runs in: joining it, and the collectives it uses.

A sharded run is launched by ``torchrun`` (one process per shard). :func:`join` joins the
process group from torchrun's environment if the caller has not (gloo on CPU, NCCL on
CUDA, the device picked by ``LOCAL_RANK``), as training does. :func:`setting` describes it
for ``hybrid info``.

Autograd through the collectives: :func:`all_reduce` (backward: the sum of every rank's
incoming gradient, scaled by 1/size) and :class:`AllToAll` (backward: the exchange in
reverse), written here on the plain collectives. A replicated parameter's
gradient is the sum of every rank's partial gradient, so :class:`SumGradients` sums them
in one collective at the end of the backward pass (DESIGN §10).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["join", "setting", "all_reduce", "AllToAll", "SumGradients", "check_power_of_two"]


def check_power_of_two(size: int) -> int:
    """``k`` with ``size == 2**k``, or a clear refusal."""
    if size < 1 or size & (size - 1):
        raise ValueError(
            f"a sharded statevector needs a power-of-two number of processes (1, 2, 4, 8, ...); got {size}: "
            "each process holds the amplitudes of one value of the top log2(processes) qubits"
        )
    return size.bit_length() - 1


def join(device: torch.device) -> tuple[int, int, torch.device]:
    """``(rank, world size, device)``, joining torchrun's process group if needed (gloo on
    CPU, NCCL on CUDA; under CUDA each process takes ``cuda:LOCAL_RANK``)."""
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        if "WORLD_SIZE" not in os.environ or "MASTER_ADDR" not in os.environ:
            if int(os.environ.get("WORLD_SIZE", "1")) == 1 and "MASTER_ADDR" not in os.environ:
                return 0, 1, device  # not launched: one process holds everything
            raise RuntimeError(
                "distributed=True needs a process group: launch with torchrun (e.g. torchrun --standalone "
                "--nproc_per_node 4 script.py) or call torch.distributed.init_process_group first"
            )
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def setting() -> dict:
    """What ``hybrid info`` prints: the joined group, the launch environment, or neither."""
    if dist.is_available() and dist.is_initialized():
        return {"launched": True, "world_size": dist.get_world_size(), "rank": dist.get_rank(),
                "backend": str(dist.get_backend())}  # fmt: skip
    if "WORLD_SIZE" in os.environ and "RANK" in os.environ:
        cuda = torch.cuda.is_available()
        return {"launched": True, "world_size": int(os.environ["WORLD_SIZE"]), "rank": int(os.environ["RANK"]),
                "backend": ("nccl" if cuda else "gloo") + " (not joined yet)"}  # fmt: skip
    return {"launched": False}


def all_reduce(t: torch.Tensor, size: int) -> torch.Tensor:
    """The sum of ``t`` over ranks, the same on every rank. Differentiable: the gradient that
    reaches each rank's ``t`` is the incoming one (not ``size`` times it), so the sum over
    ranks that :class:`SumGradients` takes later counts every rank's part once."""
    if size == 1:
        return t
    if not t.requires_grad:
        out = t.clone()
        dist.all_reduce(out)
        return out
    out = _AllReduce.apply(t)  # backward: sum of every rank's gradient = size x each rank's
    return out / size + out.detach() * (1 - 1 / size)  # forward unchanged, gradient / size


class _AllReduce(torch.autograd.Function):
    """Sum over processes; backward: the sum of every process's incoming gradient."""

    @staticmethod
    def forward(ctx, t):
        out = t.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad


class AllToAll(torch.autograd.Function):
    """``all_to_all_single`` with splits; backward: the exchange in reverse."""

    @staticmethod
    def forward(ctx, inp, out_splits, in_splits):
        ctx.splits = (list(out_splits), list(in_splits))
        out = inp.new_empty(sum(out_splits))
        dist.all_to_all_single(out, inp.contiguous(), list(out_splits), list(in_splits))
        return out

    @staticmethod
    def backward(ctx, grad):
        out_splits, in_splits = ctx.splits
        back = grad.new_empty(sum(in_splits))
        dist.all_to_all_single(back, grad.contiguous(), in_splits, out_splits)
        return back, None, None


class SumGradients(torch.autograd.Function):
    """Identity on a list of tensors; backward sums their gradients over ranks in one
    ``all_reduce`` (a replicated parameter's gradient is the sum of every rank's part)."""

    @staticmethod
    def forward(ctx, size: int, *tensors):
        ctx.size = size
        ctx.shapes = [t.shape for t in tensors]
        return tuple(t.clone() for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        flat = torch.cat([
            (g if g is not None else torch.zeros(s, dtype=torch.float64)).reshape(-1).to(torch.float64).cpu()
            for g, s in zip(grads, ctx.shapes)
        ]) if grads else torch.zeros(0, dtype=torch.float64)  # fmt: skip
        dev = next((g.device for g in grads if g is not None), torch.device("cpu"))
        flat = flat.to(dev)
        if ctx.size > 1:
            dist.all_reduce(flat)
        out, k = [], 0
        for g, s in zip(grads, ctx.shapes):
            n = int(torch.Size(s).numel())
            piece = flat[k : k + n].reshape(s)
            out.append(piece.to(g.dtype) if g is not None else piece)
            k += n
        return (None, *out)
