"""Device and dtype selection: ``"auto"`` means CUDA when present, else CPU."""

from __future__ import annotations

import torch

__all__ = ["resolve_device", "real_dtype_of", "complex_dtype_of", "check_complex_dtype"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Turn ``"auto"``/``"cpu"``/``"cuda"``/``"cuda:1"``/a device into a ``torch.device``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch sees no CUDA GPU; use device='cpu' or 'auto'")
    return dev


def check_complex_dtype(dtype: torch.dtype) -> torch.dtype:
    if dtype not in (torch.complex64, torch.complex128):
        raise ValueError(f"dtype must be torch.complex64 or torch.complex128; got {dtype}")
    return dtype


def real_dtype_of(dtype: torch.dtype) -> torch.dtype:
    """The real dtype matching a complex one (complex64 -> float32)."""
    return torch.float64 if dtype == torch.complex128 else torch.float32


def complex_dtype_of(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype a real one simulates in (float64 -> complex128, otherwise complex64)."""
    return torch.complex128 if dtype == torch.float64 else torch.complex64
