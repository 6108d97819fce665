"""The example recipe, written once for every PDE: the pipeline each ``examples/*.py`` script and the verb
``pihamno example PDE`` run.

==========  ==================================================================================================
stage       what it does (:mod:`.stages`; each reuses its finished output)
==========  ==================================================================================================
data        reference trajectories of the example's PDE settings (``data.h5``)
check       ``pihamno check-data`` on them; a failed check stops the run (``check.json``)
train       HAMNO (lambda = 0) and PI-HAMNO (lambda = 0.25), :data:`~.presets.MODEL_RUNS`, from the shipped
            config of the scale (``<pde>_small`` or ``<pde>_hamno`` / ``<pde>_pihamno``) changed for the flags
evaluate    autoregressive rollouts of the held-out test trajectories
export      the PI-HAMNO rollout of test trajectory 0 for ParaView
render      PNGs of test trajectory 0 for both models
summary     the table of :func:`.session.format_summary` and ``summary.json``
==========  ==================================================================================================

What differs between PDEs is an :class:`~pihamno.workflows.presets.Example`: its PDE settings at the small
scales and its initial conditions. Left unset they are the PDE object's own (its preset, its default initial
condition), and the training configs are the shipped ones composed for any PDE (:mod:`pihamno.config.shipped`),
so every registered PDE -- a plugin's too (docs/plugins.md) -- runs with no file of its own::

    from pihamno.workflows import Example, run_example
    run_example(Example(pde="ac", params=dict(eps=0.1, L=2.0, dt=1e-3)), ["--smoke"])   # examples/allen_cahn.py
    run_example(Example(pde="heat"), ["--smoke"])                                         # pihamno example heat --smoke
"""

from __future__ import annotations

from pihamno.workflows import stages
from pihamno.workflows.command_line import parse_options
from pihamno.workflows.presets import MODEL_RUNS, SCALES, Example, dataset_spec, train_config
from pihamno.workflows.session import Session


def run_example(example: Example, argv: list[str] | None = None, prog: str | None = None) -> int:
    """The whole pipeline for ``example`` with the example flags ``argv`` (``--help`` lists them); returns the
    exit status (0, 2 for a user error, 130 when interrupted: the same command continues). The plugins of the
    installed packages and of ``PIHAMNO_PLUGINS`` are loaded first (:func:`pihamno.plugins.load_plugins`)."""
    from pihamno.plugins import load_plugins

    load_plugins()
    opts = parse_options(example, argv, prog)  # --scale/--smoke, --out, --split/--mesh, --element, --weak, ...
    scale = SCALES[opts.scale]
    with Session(example, opts, prog=prog) as run:
        configs = {m.folder: train_config(example, opts, m) for m in MODEL_RUNS}
        d = configs[MODEL_RUNS[0].folder].data
        spec = dataset_spec(example, opts, trajectories=d.n_train + d.n_test)
        with run.stage("data", "reference trajectories"):
            data = stages.make_data(spec, run.out / "data.h5", workers=scale.workers, overwrite=opts.overwrite,
                                    quiet=opts.quiet)
        with run.stage("check", "pihamno check-data"):
            stages.check_data(data, run.out, max_trajectories=scale.check_trajectories, overwrite=opts.overwrite,
                              quiet=opts.quiet)
        with run.stage("train", " and ".join(f"{m.label} (lambda = {m.lam:g})" for m in MODEL_RUNS)):
            checkpoints = {m.folder: stages.train_model(configs[m.folder], m.label, overwrite=opts.overwrite,
                                                        quiet=opts.quiet) for m in MODEL_RUNS}
        with run.stage("evaluate", "autoregressive rollouts of the test trajectories"):
            metrics = {f: stages.evaluate(ckpt, data, run.out / f / "eval", device=opts.device,
                                          overwrite=opts.overwrite, quiet=opts.quiet) for f, ckpt in checkpoints.items()}
        exported = MODEL_RUNS[-1]
        with run.stage("export", f"{exported.label} rollout of test trajectory 0 for ParaView"):
            vtk = stages.export(run.out / exported.folder / "eval" / "rollout.h5", run.out / "vtk", mesh=opts.mesh,
                                overwrite=opts.overwrite, quiet=opts.quiet)
        with run.stage("render", "PNGs of test trajectory 0"):
            pngs, note = [], None
            for f in checkpoints:
                files, note = stages.render(run.out / f / "eval" / "rollout.h5", run.out / "figures" / f,
                                            overwrite=opts.overwrite)
                pngs += files
        with run.stage("summary", "summary"):
            run.summary(spec, data, checkpoints, metrics, vtk, pngs, rendering_note=note)
    return run.exit_code
