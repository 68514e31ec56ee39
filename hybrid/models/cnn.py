"""LeNet-style convolutional baseline for small images, and its feature extractor."""

from __future__ import annotations

from torch import nn

__all__ = ["CNN", "conv_features"]


def conv_features(input_shape: tuple[int, ...], channels: tuple[int, ...] = (16, 32)) -> tuple[nn.Sequential, int]:
    """``[Conv3x3 -> ReLU -> MaxPool2]`` per entry of ``channels``, then Flatten.

    Pooling stops once the image is 1 pixel wide, so 4x4 and 8x8 inputs both work.
    Returns the module and its flattened output size.
    """
    c, h, w = input_shape
    layers: list[nn.Module] = []
    for out in channels:
        layers += [nn.Conv2d(c, out, kernel_size=3, padding=1), nn.ReLU()]
        if min(h, w) >= 2:
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        c = out
    layers.append(nn.Flatten())
    return nn.Sequential(*layers), c * h * w


class CNN(nn.Module):
    """Two conv/pool stages and a two-layer head (LeNet-5's shape, sized for 8x8 digits)."""

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, channels: tuple[int, ...] = (16, 32), hidden: int = 64, dropout: float = 0.1):
        super().__init__()
        self.features, n_flat = conv_features(input_shape, tuple(channels))
        self.head = nn.Sequential(nn.Linear(n_flat, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def forward(self, x):  # (B, C, H, W) -> (B, n_classes)
        return self.head(self.features(x))
