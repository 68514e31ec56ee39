"""Multi-layer perceptron baseline; flattens any input shape."""

from __future__ import annotations

import math

from torch import nn

__all__ = ["MLP", "mlp_layers", "mlp_count", "widths_for_budget"]


def mlp_layers(n_in: int, widths: tuple[int, ...], n_out: int, dropout: float = 0.0) -> nn.Sequential:
    """``Linear -> ReLU (-> Dropout)`` per hidden width, then a linear output layer."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(n_in, width), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def mlp_count(n_in: int, widths: tuple[int, ...], n_out: int) -> int:
    """Parameters of ``mlp_layers(n_in, widths, n_out)``: weights plus biases per layer."""
    sizes = (n_in, *widths, n_out)
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def widths_for_budget(n_in: int, n_out: int, budget: int, max_width: int = 256) -> tuple[int, ...]:
    """Hidden widths (one or two layers) whose MLP parameter count is nearest ``budget``.

    One hidden layer moves in steps of ``n_in + 1 + n_out`` parameters, too coarse for the
    few dozen parameters of a small circuit; a second layer fills the gaps. Ties go to the
    shallower, then narrower, network.
    """
    candidates = [(h,) for h in range(1, max_width + 1)]
    candidates += [(a, b) for a in range(1, 33) for b in range(1, 33)]
    return min(candidates, key=lambda w: (abs(mlp_count(n_in, w, n_out) - budget), len(w), sum(w)))


class MLP(nn.Module):
    """``Flatten -> [Linear -> ReLU -> Dropout] x len(widths) -> Linear``."""

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, widths: tuple[int, ...] = (64, 64), dropout: float = 0.1):
        super().__init__()
        self.flatten = nn.Flatten()
        self.net = mlp_layers(math.prod(input_shape), tuple(widths), n_classes, dropout)

    def forward(self, x):  # (B, *input_shape) -> (B, n_classes)
        return self.net(self.flatten(x))
