"""Shared test settings: CPU, one torch thread, a fixed seed; the ``device`` fixture and the ``gpu`` marker.

One thread: the tests use tiny tensors, and on a 2-core machine shared with other jobs OpenMP's
spin-waiting makes small ops up to ~100x slower with 2 threads (measured while developing the model tests).

``device``: a test that takes it runs once per device -- ``cpu``, and ``cuda`` when a GPU is present. Every
such run carries the marker ``devices``, the CUDA ones also ``gpu``; tests marked ``gpu`` are skipped without
CUDA. ``bench/gpu_suite.py`` selects ``-m gpu`` on a GPU machine and ``-m "devices and not gpu"`` on the CPU.
"""

import pytest
import torch

#: The plugin sources (tests/plugins/) register a PDE, a model, a family when imported: the tests that use them load
#: them (and undo it); collecting them for doctests would register them for the whole session.
collect_ignore = ["plugins"]

torch.set_num_threads(1)

DEVICES = [pytest.param("cpu", marks=pytest.mark.devices)]
if torch.cuda.is_available():
    DEVICES.append(pytest.param("cuda", marks=[pytest.mark.devices, pytest.mark.gpu]))


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Each available device in turn (cpu, cuda)."""
    return torch.device(request.param)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
