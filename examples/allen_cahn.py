"""Allen-Cahn: interfaces that move by mean curvature, learned by HAMNO and PI-HAMNO.

    u_t = Lap u - (u^3 - u) / eps^2   on [0, L]^3, homogeneous Neumann boundaries

Settings at the default size (n = 16, 41 frames; ``--scale paper`` uses the paper's eps 0.1, L 2, dt 1e-4,
n 32, 101 frames instead):

* eps = 0.1, L = 2 -- the paper's. The interface (width sqrt(2) eps = 0.14) spans about one cell of the
  h = 0.133 grid; a shrinking sphere loses area at d(R^2)/dt = -3.54 to -3.68 (R0 = 0.5-0.8) instead of the
  sharp-interface law's -4, mostly for lack of resolution (-3.96 at n = 32; examples/README.md).
* dt = 1e-3 between frames -- ten times the paper's 1e-4, so that the interfaces move visibly in 40
  frames (t = 0.04: about 10% of the nodes change phase and the interface area drops by a third). It is
  also the scheme step (one step per frame: the physics loss vanishes on the data); dt / eps^2 = 0.1, and
  the frames differ from a 10x finer time step by 1% (relative L2).
* initial conditions: the AC default, tanh-thresholded Gaussian random fields (length scale 0.4).

The recipe is :func:`main` below: each stage is one call of :mod:`pihamno.workflows`, reusing its
finished output when run again. Run ``python examples/allen_cahn.py --help`` for the flags (scale, mesh,
test functions, output folder).
"""

import sys

from pihamno import workflows as wf

EXAMPLE = wf.Example(
    pde="ac",
    title="Allen-Cahn",
    params=dict(eps=0.1, L=2.0, dt=1e-3),
    frames=41,
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
