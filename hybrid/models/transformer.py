"""A small Transformer encoder: ViT-style patch tokens for images, one token per feature for tables."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Transformer", "PatchTokens", "FeatureTokens"]


class PatchTokens(nn.Module):
    """Non-overlapping ``patch x patch`` patches, each linearly embedded (ViT, arXiv:2010.11929)."""

    def __init__(self, input_shape: tuple[int, ...], dim: int, patch: int):
        super().__init__()
        c, h, w = input_shape
        if h % patch or w % patch:
            raise ValueError(f"patch size {patch} must divide the image size {h}x{w}; pass patch= a divisor")
        self.embed = nn.Conv2d(c, dim, kernel_size=patch, stride=patch)  # a linear map per patch
        self.n_tokens = (h // patch) * (w // patch)

    def forward(self, x):  # (B, C, H, W) -> (B, T, dim)
        return self.embed(x).flatten(2).transpose(1, 2)


class FeatureTokens(nn.Module):
    """Feature ``i`` becomes the token ``x_i * w_i + b_i`` (FT-Transformer's numeric embedding)."""

    def __init__(self, n_features: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_features, dim) * dim**-0.5)
        self.bias = nn.Parameter(torch.zeros(n_features, dim))
        self.n_tokens = n_features

    def forward(self, x):  # (B, d) -> (B, d, dim)
        return x[..., None] * self.weight + self.bias


class Transformer(nn.Module):
    """Tokens + a learned position embedding + a class token -> pre-norm encoder -> linear head."""

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, dim: int = 32, depth: int = 2, heads: int = 4, mlp_ratio: int = 2, dropout: float = 0.1, patch: int | None = None):
        super().__init__()
        if len(input_shape) == 3:
            # Default: patches so that an 8x8 image gives 16 tokens and a 4x4 one 16 pixels.
            self.tokens = PatchTokens(input_shape, dim, patch or max(1, input_shape[1] // 4))
        else:
            self.tokens = FeatureTokens(input_shape[0], dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, self.tokens.n_tokens + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * mlp_ratio, dropout, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)

    def forward(self, x):  # (B, *input_shape) -> (B, n_classes)
        t = self.tokens(x)
        t = torch.cat([self.cls.expand(len(t), -1, -1), t], dim=1) + self.pos
        return self.head(self.norm(self.encoder(t)[:, 0]))
