"""Device selection: CUDA, then Apple MPS, then CPU. ``SYMPE_DEVICE`` (cpu, cuda, cuda:1, mps) forces one."""
from __future__ import annotations

import os

import torch

__all__ = ["select_device", "device_description"]


def select_device(preferred: str | None = None) -> torch.device:
    """The device to run on. ``preferred`` (or the SYMPE_DEVICE environment variable) wins when available;
    asking for an unavailable accelerator raises a ValueError with a clear message."""
    name = preferred or os.environ.get("SYMPE_DEVICE")
    if name:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but CUDA is not available")
        if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ValueError(f"device {name!r} requested but Apple MPS is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_description(device: torch.device | None = None) -> str:
    """A short human name: 'CPU (2 threads)', 'CUDA: NVIDIA H100', 'Apple MPS'."""
    device = device or select_device()
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
