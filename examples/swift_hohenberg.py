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

The recipe is :func:`main` below: each stage is one call of :mod:`pihamno.workflows`, reusing its
finished output when run again. Run ``python examples/swift_hohenberg.py --help`` for the flags (scale, mesh,
test functions, output folder).
"""

import sys

from pihamno import workflows as wf

EXAMPLE = wf.Example(
    pde="sh",
    title="Swift-Hohenberg",
    params=dict(eps=0.15, L=15.0, dt=0.3),
    frames=61,
)


def main(argv: list[str] | None = None) -> int:
    """The whole pipeline, stage by stage; run with ``--help`` for the flags. Returns the exit status."""
    opts = wf.parse_options(EXAMPLE, argv)  # --scale/--smoke, --out, --split/--mesh, --element, --weak, ...
    scale = wf.SCALES[opts.scale]
    with wf.Session(EXAMPLE, opts) as run:
        # the two models' training configs (a shipped config, changed in Python for this scale and these flags)
        configs = {m.folder: wf.train_config(EXAMPLE, opts, m) for m in wf.MODELS}
        d = configs["hamno"].data
        spec = wf.dataset_spec(EXAMPLE, opts, trajectories=d.n_train + d.n_test)
        with run.stage("data", "reference trajectories"):
            data = wf.make_data(spec, run.out / "data.h5", workers=scale.workers, overwrite=opts.overwrite,
                                quiet=opts.quiet)
        with run.stage("check", "pihamno check-data"):
            wf.check_data(data, run.out, max_trajectories=scale.check_trajectories, overwrite=opts.overwrite,
                          quiet=opts.quiet)
        with run.stage("train", "HAMNO (lambda = 0) and PI-HAMNO (lambda = 0.25)"):
            checkpoints = {m.folder: wf.train_model(configs[m.folder], m.label, overwrite=opts.overwrite,
                                                    quiet=opts.quiet) for m in wf.MODELS}
        with run.stage("evaluate", "autoregressive rollouts of the test trajectories"):
            metrics = {f: wf.evaluate(ckpt, data, run.out / f / "eval", device=opts.device, overwrite=opts.overwrite,
                                      quiet=opts.quiet) for f, ckpt in checkpoints.items()}
        with run.stage("export", "PI-HAMNO rollout of test trajectory 0 for ParaView"):
            vtk = wf.export(run.out / "pihamno" / "eval" / "rollout.h5", run.out / "vtk", mesh=opts.mesh,
                            overwrite=opts.overwrite, quiet=opts.quiet)
        with run.stage("render", "PNGs of test trajectory 0"):
            pngs, note = [], None
            for f in checkpoints:
                files, note = wf.render(run.out / f / "eval" / "rollout.h5", run.out / "figures" / f,
                                        overwrite=opts.overwrite)
                pngs += files
        with run.stage("summary", "summary"):
            run.summary(spec, data, checkpoints, metrics, vtk, pngs, rendering_note=note)
    return run.exit_code


if __name__ == "__main__":
    sys.exit(main())
