"""The command line every example script takes (``--scale``, ``--smoke``, ``--out``, ``--split`` / ``--mesh``,
``--element``, ``--weak``, ...): argv -> :class:`~pihamno.workflows.presets.Options`, one line on a bad flag.

:class:`ArgumentParser` is also the parser of the ``pihamno`` command line: one line per error, and negative
numbers in any notation (``--dt -1e-3``) read as values, so that the range check can refuse them by name.
"""

from __future__ import annotations

import argparse
import re

from pihamno.choices import ELEMENTS, SPLITS, WEAK_KINDS
from pihamno.workflows.presets import SCALES, Example, Options

#: CPU costs behind :func:`paper_cost`, measured on the 2-core development machine (torch on one thread, other
#: jobs running; 2026-11): one AdamW step of the paper's HAMNO (width 12) on a batch of 8 windows at n = 32
#: (forward and backward), one forward of one n = 32 frame, and one reference-solver frame at n = 32 (AC).
STEP_S, FORWARD_S, SOLVER_FRAME_S = 6.0, 0.25, 0.19


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors and negative numbers in scientific notation taken as values.

    argparse reads ``-1`` and ``-0.5`` as values but ``-1e-3`` as an unknown flag ("expected one argument"):
    its pattern for negative numbers has no exponent. None of our flags looks like a number, so any numeral
    after a flag is its value.

    >>> p = ArgumentParser(prog="x"); _ = p.add_argument("--dt", type=float)
    >>> p.parse_args(["--dt", "-1e-3"]).dt
    -0.001
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

    def error(self, message):  # one line, not the usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(ex: Example, prog: str | None = None) -> argparse.ArgumentParser:
    """The flags every example takes."""
    import textwrap

    from fem.pde import get_pde

    settings = ", ".join(f"{k} = {v:g}" for k, v in {**get_pde(ex.pde).preset, **ex.params}.items())
    why = "the script's docstring says why" if ex.params else "the PDE's preset"
    family = ex.ic or "the PDE's default family"
    ic = f", initial conditions: {family}" + (
        " with " + ", ".join(f"{k} = {v:g}" for k, v in ex.ic_params.items()) if ex.ic_params else "")
    description = (
        f"{ex.title}: the whole pihamno pipeline -- reference data (checked with check-data), HAMNO (lambda = 0) "
        "and PI-HAMNO (lambda = 0.25) trained on it, autoregressive rollouts on held-out test trajectories, a "
        "ParaView export and PNG pictures -- then a summary table.\n\n"
        f"PDE settings at the default and smoke scales: {settings}, {ex.frames} frames at the default scale{ic} "
        f"({why}); --scale paper uses the PDE's preset at the paper's sizes."
    )
    p = ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="\n\n".join(textwrap.fill(part, 100) for part in description.split("\n\n")),
        epilog=f"""output folder (--out, default runs/{ex.pde}):
  data.h5, check.json             reference data and its check-data report
  hamno/, pihamno/                training runs (config.toml, last.pt, best.pt, metrics.csv)
  hamno/eval/, pihamno/eval/      rollout.h5, metrics.json, per_frame.csv (test trajectories)
  vtk/rollout.pvd + rollout_*.vti PI-HAMNO rollout of test trajectory 0 (open the .pvd in ParaView)
  figures/{{hamno,pihamno}}/*.png  interfaces (needs OpenGL), slices, rel-L2/energy/mass curves
  summary.json                    the printed summary

resuming: rerunning the same command reuses every finished stage (dataset, checkpoints, evaluations,
export, pictures) and continues an interrupted one (data.h5.partial, last.pt); outputs made with other
settings stop the run with one line; --overwrite redoes everything.""")
    p.add_argument("--scale", choices=("default", "paper"), default="default",
                   help="default: n = 16, a few minutes on a 2-core CPU; paper: the HAMNO paper's n = 32, 101 "
                   "frames, width-12 HAMNO and PDE parameters (the shipped configs <pde>_hamno and <pde>_pihamno), for a GPU")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes (n = 8, 8 frames, 3 trajectories, width 2, one short epoch): the whole pipeline in seconds")
    p.add_argument("--out", metavar="DIR", default=None, help=f"output folder (default runs/{ex.pde})")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial conditions and of training (default 0)")
    p.add_argument("--device", default="auto", help="'auto' (cuda when present, default), 'cpu', 'cuda', 'cuda:N'")
    mesh = p.add_mutually_exclusive_group()
    mesh.add_argument("--split", choices=SPLITS, default="kuhn",
                      help="structured tetrahedral mesh of the grid for the reference solver and the physics loss (default kuhn)")
    mesh.add_argument("--mesh", metavar="FILE", default=None,
                      help="a tetrahedral mesh file of the cube instead (e.g. meshes/cube_gmsh_h0.25_L2.msh; its side must be the PDE's L)")
    p.add_argument("--element", choices=ELEMENTS, default="P1", help="test functions of the physics loss's weak form (default P1)")
    p.add_argument("--weak", choices=WEAK_KINDS, default="assembled",
                   help="weak residual: assembled (consistent, default) or the paper's element_local (for comparison)")
    p.add_argument("--overwrite", action="store_true", help="redo every stage instead of reusing finished outputs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--yes", action="store_true",
                   help="start --scale paper on a CPU anyway (without it the run states its time and disk and stops)")
    return p


def paper_cost(ex: Example) -> dict:
    """What ``--scale paper`` costs on a CPU: ``{"hours", "gb", "text"}``, from the shipped configs of the
    example's PDE and the measured costs :data:`STEP_S`, :data:`FORWARD_S`, :data:`SOLVER_FRAME_S` (training
    steps, validation rollouts every epoch, test rollouts and one-step predictions, data generation on every
    core; disk: data, two rollout files, checkpoints). An estimate: the physics loss of PI-HAMNO adds to it."""
    import os

    from pihamno.config import build_model_for, shipped_config

    scale = SCALES["paper"]
    F, n = scale.frames, scale.n
    seconds, nbytes = 0.0, 0
    for i, folder in enumerate(("hamno", "pihamno")):
        cfg = shipped_config(f"{ex.pde}_{folder}")
        d, o, r = cfg.data, cfg.optim, cfg.run
        predicted = F - d.T_in
        seconds += o.epochs * o.steps_per_epoch * STEP_S * o.batch_size / 8
        seconds += o.epochs / r.val_every * d.n_val * predicted * FORWARD_S + 2 * d.n_test * predicted * FORWARD_S
        params = sum(p.numel() for p in build_model_for(cfg).parameters())
        nbytes += 2 * d.n_test * F * n**3 * 4 + 2 * 3 * 4 * params  # rollout.h5 (reference, prediction); 2 checkpoints
        if i == 0:
            trajectories = d.n_train + d.n_test
            seconds += trajectories * (F - 1) * SOLVER_FRAME_S / max(1, min(scale.workers, os.cpu_count() or 1))
            nbytes += trajectories * F * n**3 * 4
    hours, gb = seconds / 3600, nbytes / 1e9
    return {"hours": hours, "gb": gb,
            "text": f"about {hours:.0f} hours on a 2-core CPU (the physics loss adds to it) and {gb:.1f} GB of disk"}


def parse_options(ex: Example, argv: list[str] | None = None, prog: str | None = None) -> Options:
    """Flags -> :class:`Options`; a bad combination is one line and exit status 2."""
    p = build_parser(ex, prog)
    a = p.parse_args(argv)
    if a.smoke and a.scale == "paper":
        p.error("--smoke and --scale paper exclude each other")
    if a.seed < 0:
        p.error(f"--seed must be a non-negative integer, got {a.seed}")
    if a.mesh:
        from pihamno.errors import InputError, input_file

        try:
            input_file(a.mesh, "--mesh")
        except InputError as exc:
            p.error(str(exc))
    if a.scale == "paper" and not a.yes:
        from pihamno.device import resolve_device
        from pihamno.errors import InputError

        try:
            cpu = resolve_device(a.device).type == "cpu"
        except InputError as exc:
            p.error(str(exc))
        if cpu:
            p.error(f"--scale paper on the CPU takes {paper_cost(ex)['text']}; it is meant for a GPU "
                    "(--device cuda); pass --yes to start it here anyway")
    return Options(scale="smoke" if a.smoke else a.scale, out=a.out, seed=a.seed, device=a.device, split=a.split,
                   mesh=a.mesh, element=a.element, weak=a.weak, overwrite=a.overwrite, quiet=a.quiet)
