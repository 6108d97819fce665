"""Shared test settings: CPU, one torch thread, a fixed seed.

One thread: the tests use tiny tensors, and on a 2-core machine shared with other jobs OpenMP's
spin-waiting makes small ops up to ~100x slower with 2 threads (measured while developing the model tests).
"""

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
