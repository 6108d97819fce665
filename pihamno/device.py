"""Device selection: from a flag or config, default CUDA when present. Nothing reads a global device."""

from __future__ import annotations

import torch

from pihamno.errors import InputError


def resolve_device(name: str | None = None) -> torch.device:
    """``None``/``"auto"`` -> ``cuda`` if available else ``cpu``; otherwise the named device, validated."""
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {name!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {name!r} was requested but CUDA is not available on this machine")
    return dev
