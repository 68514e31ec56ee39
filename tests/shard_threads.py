"""An in-process stand-in for a process group: one thread per rank, collectives through
shared slots and a barrier (tests only; the real runs use torch.distributed)."""

from __future__ import annotations

import threading

import torch

from hybrid.sim.sharded import Exchange


class _Group:
    def __init__(self, size: int):
        self.size = size
        self.barrier = threading.Barrier(size, timeout=60)
        self.slots: list = [None] * size


class ThreadExchange(Exchange):
    """Every collective a sharded state uses, between threads of one process."""

    def __init__(self, group: _Group, rank: int):
        super().__init__(rank, group.size)
        self.group = group

    def _all(self, value):
        self.group.slots[self.rank] = value
        self.group.barrier.wait()
        values = list(self.group.slots)
        self.group.barrier.wait()
        return values

    def send(self, out, inp, out_splits, in_splits):
        values = self._all((inp.clone(), list(in_splits)))
        pieces = []
        for buf, splits in values:
            at = sum(splits[: self.rank])
            pieces.append(buf[at : at + splits[self.rank]])
        out.copy_(torch.cat(pieces))

    def reduce(self, t):
        return sum(self._all(t.detach().clone()))

    def reduce_plain(self, t):
        return sum(self._all(t.clone()))

    def gather(self, t):
        return [v for v in self._all(t.clone())]


def run_ranks(size: int, fn):
    """``[fn(exchange) for each rank]``, the ranks running as threads."""
    group = _Group(size)
    results: list = [None] * size
    errors: list = []

    def body(rank: int) -> None:
        try:
            results[rank] = fn(ThreadExchange(group, rank))
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errors.append(e)
            group.barrier.abort()

    threads = [threading.Thread(target=body, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
