"""Swift-Hohenberg: a pattern of wavelength 2 pi growing out of noise, learned by HAMNO and PI-HAMNO.

    u_t = eps u - (1 + Lap)^2 u - u^3   on [0, L]^3, homogeneous Neumann boundaries

Settings at the default size (n = 16, 61 frames; ``--scale paper`` uses the paper's eps 0.15, L 15,
dt 5e-2, n 32, 101 frames instead):

* eps = 0.15, L = 15 -- the paper's. The pattern's wavelength 2 pi spans about 6 cells of the h = 1 grid
  (along the grid axes the discrete Laplacian's symbol at k = 1 is within 8% of -1); the cube holds about
  2.4 wavelengths.
* dt = 0.3 between frames, six times the paper's 5e-2, over 60 frames (t = 18): the noise outside the
  unstable band |k| ~ 1 dies out in the first frames (rms 0.25 -> 0.16), then the band-limited pattern
  grows (rms 0.16 -> 0.24, its correlation with the saturated pattern of t = 60 from 0.47 to 0.87). It is
  also the scheme step (the physics loss vanishes on the data); the frames differ from a 10x finer time
  step by 2-4% (relative L2). Larger steps buy nothing with this stabilised scheme: once
  1/dt < (6.75 - eps)/2 the default stabilisation S keeps 1/dt + S constant, so dt = 0.5 and dt = 1 give
  the very frames of dt = 0.303.
* initial conditions: the SH default, a Gaussian random field of amplitude 0.25 and correlation length 1.

This script is only what differs between the examples, :data:`EXAMPLE` (the settings above); the pipeline
is the recipe every PDE shares, :func:`pihamno.workflows.run_example`: reference data -> check-data -> HAMNO
and PI-HAMNO -> rollouts of the test trajectories -> ParaView export -> PNGs -> summary, each stage reusing its
finished output when run again. ``pihamno example sh`` runs the same recipe with the PDE's preset instead.
Run ``python examples/swift_hohenberg.py --help`` for the flags (scale, mesh, test functions, output folder).
"""

import sys

from pihamno import workflows as wf

EXAMPLE = wf.Example(
    pde="sh",
    params=dict(eps=0.15, L=15.0, dt=0.3),
    frames=61,
)


def main(argv: list[str] | None = None) -> int:
    """The whole pipeline for :data:`EXAMPLE`; run with ``--help`` for the flags. Returns the exit status."""
    return wf.run_example(EXAMPLE, argv)


if __name__ == "__main__":
    sys.exit(main())
