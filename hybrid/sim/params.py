"""Gate parameters: numbers, tensors, and named symbols bound at run time.

A circuit is built once with :class:`Parameter` symbols where values will change and run
many times with different bindings. A symbol may be scaled and shifted
(``2 * theta + 0.1``, ``-theta``), which is all that inverses and common encodings need.

Resolved values are real tensors of shape ``(1,)`` (the same for every sample) or
``(B,)`` (one value per sample, PennyLane-style broadcasting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np
import torch

__all__ = ["Parameter", "ParamExpr", "ParamValue", "resolve_param", "bind_parameters"]


@dataclass(frozen=True)
class ParamExpr:
    """``scale * <symbol> + offset``; a bare :class:`Parameter` has scale 1, offset 0."""

    name: str
    scale: float = 1.0
    offset: float = 0.0

    def __mul__(self, k: float) -> "ParamExpr":
        if isinstance(k, ParamExpr):
            raise TypeError(f"cannot multiply symbols {self.name!r} and {k.name!r}: parameters are affine in one symbol")
        return ParamExpr(self.name, self.scale * float(k), self.offset * float(k))

    __rmul__ = __mul__

    def __truediv__(self, k: float) -> "ParamExpr":
        return self * (1.0 / float(k))

    def __add__(self, k: float) -> "ParamExpr":
        if isinstance(k, ParamExpr):
            raise TypeError(
                f"cannot add symbols {self.name!r} and {k.name!r}: a gate parameter is an affine function "
                "of one symbol (scale * p + offset); use a separate gate or one symbol"
            )
        return ParamExpr(self.name, self.scale, self.offset + float(k))

    __radd__ = __add__

    def __sub__(self, k: float) -> "ParamExpr":
        return self + (-float(k))

    def __rsub__(self, k: float) -> "ParamExpr":
        return (-self) + k

    def __neg__(self) -> "ParamExpr":
        return self * -1.0

    def __repr__(self) -> str:
        if self.scale == 1.0 and self.offset == 0.0:
            return self.name
        return f"({self.scale:g}*{self.name}{self.offset:+g})"


def Parameter(name: str) -> ParamExpr:  # noqa: N802 - reads as a type at call sites
    """A named symbolic parameter, bound when the circuit is simulated."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a parameter name must be a non-empty string, got {name!r}")
    return ParamExpr(name)


ParamValue = Union[float, int, np.ndarray, torch.Tensor, ParamExpr]


def check_value(value: object, what: str) -> None:
    """Reject anything that is not a real number, a 0-d/1-d real tensor or a symbol."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{what}: got a bool; pass a float angle")
    if isinstance(value, ParamExpr | int | float | np.integer | np.floating):
        return
    if isinstance(value, np.ndarray):
        value = torch.as_tensor(value)
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError(f"{what}: parameters are real; got a complex tensor")
        if value.dim() > 1:
            raise ValueError(
                f"{what}: a parameter must be a number, a 0-d tensor or a 1-d tensor of "
                f"length batch; got shape {tuple(value.shape)}"
            )
        return
    raise TypeError(f"{what}: expected a float, a tensor or a Parameter; got {type(value).__name__}")


def _to_tensor(value: float | torch.Tensor, real_dtype: torch.dtype, device: torch.device):
    if isinstance(value, np.ndarray):
        value = torch.as_tensor(value)
    if isinstance(value, torch.Tensor):
        return value.to(device=device, dtype=real_dtype).reshape(-1)  # (1,) or (B,)
    return torch.tensor([float(value)], dtype=real_dtype, device=device)


def resolve_param(
    value: ParamValue,
    bindings: Mapping[str, float | torch.Tensor],
    real_dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """Turn one stored parameter into a real tensor of shape ``(1,)`` or ``(B,)``."""
    if isinstance(value, ParamExpr):
        base = _to_tensor(bindings[value.name], real_dtype, device)
        if value.scale == 1.0 and value.offset == 0.0:
            return base
        return base * value.scale + value.offset
    return _to_tensor(value, real_dtype, device)


def bind_parameters(
    names: Sequence[str], params: Mapping[str, object] | Sequence[object] | torch.Tensor | None
) -> dict[str, float | torch.Tensor]:
    """Match user-supplied values to a circuit's symbols, by name or by position.

    ``params`` may be a mapping ``name -> value``, a sequence in the order of
    ``circuit.parameters``, a 1-d tensor of length P, or a 2-d tensor ``(B, P)`` whose
    columns are per-sample values.
    """
    if params is None:
        params = {}
    if isinstance(params, torch.Tensor):
        if params.dim() not in (1, 2):
            raise ValueError(f"params tensor must be 1-d (P,) or 2-d (B, P); got {tuple(params.shape)}")
        check_value(params[..., :1].reshape(-1), "params")  # real: checked once, not per column
        columns = list(params.unbind(dim=-1))
        if len(columns) != len(names):
            raise ValueError(
                f"the circuit has {len(names)} parameter(s) {list(names)} but {len(columns)} value(s) were given"
            )
        return dict(zip(names, columns))
    if isinstance(params, Mapping):
        missing = [n for n in names if n not in params]
        extra = [k for k in params if k not in names]
        if missing:
            raise ValueError(f"no value bound for parameter(s) {missing}; pass params={{name: value}}")
        if extra:
            raise ValueError(f"unknown parameter name(s) {extra}; the circuit has {list(names)}")
        bound = dict(params)
    else:
        values = list(params)
        if len(values) != len(names):
            raise ValueError(
                f"the circuit has {len(names)} parameter(s) {list(names)} but {len(values)} "
                "value(s) were given"
            )
        bound = dict(zip(names, values))
    for name, value in bound.items():
        if isinstance(value, ParamExpr):
            raise TypeError(f"parameter {name!r} must be bound to a number or tensor, not a symbol")
        check_value(value, f"parameter {name!r}")
        if isinstance(value, np.ndarray):
            bound[name] = torch.as_tensor(value)
    return bound
