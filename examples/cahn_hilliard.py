"""Cahn-Hilliard: phase separation that conserves mass and coarsens, learned by HAMNO and PI-HAMNO.

    u_t = Lap mu,   mu = -eps^2 Lap u + u^3 - u   on [0, L]^3, homogeneous Neumann boundaries

Settings at the default size (n = 16, 41 frames; ``--scale paper`` uses the paper's eps 0.05, L 2,
dt 1e-3, n 32, 101 frames instead):

* eps = 0.1, L = 2 -- twice the paper's eps, so that the interface is resolved on the coarse grid as well
  as the paper's is on its own: eps / h = 0.75 here (h = 2/15) against 0.78 at n = 32 with eps = 0.05.
  With eps = 0.05 on this grid the interface is thinner than one cell and the dynamics is grid-pinned.
* initial conditions: the CH default (thresholded Gaussian random field shifted to ~40% of the +1 phase,
  mean about -0.18) with correlation length 0.4 instead of 0.25, i.e. domains of about three cells
  rather than two, which n = 16 can carry.
* dt = 5e-3 between frames (5x the paper's; dt / eps^2 = 0.5 as in the paper's 1e-3 / 0.05^2 = 0.4),
  also the scheme step, so the physics loss vanishes on the data. Over 40 frames (t = 0.2) the interface
  area falls by a third as small domains dissolve and the rest round off, while int u stays
  constant to round-off; the frames differ from a 10x finer time step by about 6% (relative L2).

The recipe is :func:`main` below: each stage is one call of :mod:`pihamno.workflows`, reusing its
finished output when run again. Run ``python examples/cahn_hilliard.py --help`` for the flags (scale, mesh,
test functions, output folder).
"""

import sys

from pihamno import workflows as wf

EXAMPLE = wf.Example(
    pde="ch",
    title="Cahn-Hilliard",
    params=dict(eps=0.1, L=2.0, dt=5e-3),
    frames=41,
    ic_params=dict(length_scale=0.4),
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
