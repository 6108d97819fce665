"""Plots of the physical tests (:mod:`pihamno.evaluation.physical_tests`): one PNG per series, the model against the
reference solver, e.g. R(t) of the Allen-Cahn sphere (``physical_sphere_radius.png``) and E(t) from the
out-of-family states (``physical_energy.png``).

A series is ``{"x", "xlabel", "ylabel", "curves": {"reference, <case>": y, "model, <case>": y}, "given": x or None}``
as the tests write it to ``physical_tests.json``: each case gets one colour, the reference a solid line, the model a
dashed one; ``given`` marks the last frame given to the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pihamno.rendering.backend import save_png, short_label


def plot_series(name: str, series: dict, path: str | Path, label: str = "model", overwrite: bool = True) -> Path:
    """One series (module docstring) as a PNG at ``path``; ``label`` names the model in the legend and title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.asarray(series["x"], dtype=float)
    fig, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    cases = sorted({k.split(", ", 1)[1] for k in series["curves"]})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, case in enumerate(cases):
        c = colours[i % len(colours)]
        for who, style in (("reference", "-"), ("model", "--")):
            y = series["curves"].get(f"{who}, {case}")
            if y is not None:
                name_ = "reference solver" if who == "reference" else short_label(label)
                ax.plot(x, np.asarray(y, dtype=float), color=c, ls=style, lw=1.6, label=f"{name_}, {case}")
    if series.get("given") is not None:
        ax.axvline(series["given"], color="0.45", ls=":", lw=1.2, label="last given frame")
    ax.set_xlabel(series["xlabel"])
    ax.set_ylabel(series["ylabel"])
    ax.set_title(f"{short_label(label)} vs the reference solver: {series['ylabel']}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    try:
        return save_png(path, fig, overwrite=overwrite)
    finally:
        plt.close(fig)


def plot_physical_tests(report: dict, out: str | Path, label: str = "model") -> list[Path]:
    """Every series of a physical-test report as ``out/physical_<name>.png``; returns the paths."""
    out = Path(out)
    return [plot_series(name, s, out / f"physical_{name}.png", label) for name, s in report.get("series", {}).items()]
