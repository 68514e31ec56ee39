"""Multi-layer perceptron baseline; flattens any input shape."""

from __future__ import annotations

import math

from torch import nn

__all__ = ["MLP", "mlp_layers", "width_for_budget"]


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


def width_for_budget(n_in: int, n_out: int, budget: int) -> int:
    """Hidden width of a one-hidden-layer MLP whose parameter count is nearest ``budget``.

    A ``n_in -> h -> n_out`` MLP has ``h (n_in + 1 + n_out) + n_out`` parameters.
    """
    return max(1, round((budget - n_out) / (n_in + 1 + n_out)))


class MLP(nn.Module):
    """``Flatten -> [Linear -> ReLU -> Dropout] x len(widths) -> Linear``."""

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, widths: tuple[int, ...] = (64, 64), dropout: float = 0.1):
        super().__init__()
        self.flatten = nn.Flatten()
        self.net = mlp_layers(math.prod(input_shape), tuple(widths), n_classes, dropout)

    def forward(self, x):  # (B, *input_shape) -> (B, n_classes)
        return self.net(self.flatten(x))
