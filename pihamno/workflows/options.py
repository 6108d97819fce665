"""The command line every example script takes (``--scale``, ``--smoke``, ``--out``, ``--split`` / ``--mesh``,
``--element``, ``--weak``, ...): argv -> :class:`~pihamno.workflows.presets.Options`, one line on a bad flag."""

from __future__ import annotations

import argparse
from pathlib import Path

from pihamno.choices import ELEMENTS, SPLITS, WEAK_KINDS
from pihamno.workflows.presets import Example, Options


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(ex: Example, prog: str | None = None) -> argparse.ArgumentParser:
    """The flags every example takes."""
    import textwrap

    settings = ", ".join(f"{k} = {v:g}" for k, v in ex.params.items())
    family = ex.ic or "the PDE's default family"
    ic = f", initial conditions: {family}" + (
        " with " + ", ".join(f"{k} = {v:g}" for k, v in ex.ic_params.items()) if ex.ic_params else "")
    description = (
        f"{ex.title}: the whole pihamno pipeline -- reference data (checked with check-data), HAMNO (lambda = 0) "
        "and PI-HAMNO (lambda = 0.25) trained on it, autoregressive rollouts on held-out test trajectories, a "
        "ParaView export and PNG pictures -- then a summary table.\n\n"
        f"PDE settings at the default and smoke scales: {settings}, {ex.frames} frames at the default scale{ic} "
        "(the script's docstring says why); --scale paper uses the paper's."
    )
    p = _Parser(
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
    return p


def parse_options(ex: Example, argv: list[str] | None = None, prog: str | None = None) -> Options:
    """Flags -> :class:`Options`; a bad combination is one line and exit status 2."""
    p = build_parser(ex, prog)
    a = p.parse_args(argv)
    if a.smoke and a.scale == "paper":
        p.error("--smoke and --scale paper exclude each other")
    if a.seed < 0:
        p.error(f"--seed must be a non-negative integer, got {a.seed}")
    if a.mesh and not Path(a.mesh).is_file():
        p.error(f"--mesh {a.mesh!r} does not exist")
    return Options(scale="smoke" if a.smoke else a.scale, out=a.out, seed=a.seed, device=a.device, split=a.split,
                   mesh=a.mesh, element=a.element, weak=a.weak, overwrite=a.overwrite, quiet=a.quiet)
