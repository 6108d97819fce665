"""What a dataset holds, typed: :class:`DataDescription`, read once from a file's HDF5 attributes.

A dataset records how it was made in attributes (:mod:`pihamno.data.dataset`); everything that interprets
them -- training, the physics loss, the mass constraint, evaluation, export, the checks -- reads this
description, never the attributes by string key. The discretisation defaults are decided here, once:

* the data's own discretisation is :attr:`~DataDescription.mesh` (the ``split`` or ``mesh_file`` attribute, as
  a :class:`fem.mesh.MeshChoice`) and :attr:`~DataDescription.element` (``"P1"`` for files written before P2
  existed);
* the physics loss is taken on the data's own discretisation unless a mesh or an element is given
  (:meth:`~DataDescription.loss_discretisation`), so its weak residual is the reference solver's and vanishes
  on the data;
* the fields of every dataset are sampled on the n^3 node grid; what is measured on that grid (mass, free
  energy, the mass projection) uses the data's structured split, and the Kuhn split for mesh-file data
  (:attr:`~DataDescription.grid_split`).

Files of every format version read the same (the attributes on disk did not change); a file made by hand
with only some attributes (``u`` and ``L``, say) gives a description whose other entries are None, and the
shape of ``u`` stands in for ``n``, ``frames`` and ``trajectories``. :attr:`~DataDescription.attrs` keeps every
attribute as read: checkpoints store it and the run record hashes it (:mod:`pihamno.config.record`).

>>> d = DataDescription.from_attrs({"pde": "ac", "eps": 0.1, "L": 2.0, "dt": 1e-4, "n": 9, "frames": 3,
...                                 "trajectories": 2, "split": "", "mesh_file": "cube.msh", "element": "P1"})
>>> d.mesh.describe(), d.grid_split, d.params.eps
('mesh file cube.msh', 'kuhn', 0.1)
>>> mesh, element = d.loss_discretisation(element="P2")
>>> mesh.describe(), element
('mesh file cube.msh', 'P2')
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from fem.choices import Element, Split
from pihamno.errors import InputError

if TYPE_CHECKING:  # imported when used (scikit-fem is slow to import; reading a file needs none of it)
    from fem.mesh import MeshChoice
    from fem.pde import PDE
    from fem.schemes import PDEParams


@dataclass(frozen=True)
class DataDescription:
    """A dataset's attributes, typed (module docstring). Build it with :func:`pihamno.data.read_description` (a file) or
    :meth:`from_attrs` (attributes in memory, e.g. a checkpoint's ``data.meta``)."""

    n: int
    frames: int
    trajectories: int
    mesh: MeshChoice
    element: Element = "P1"
    pde: str | None = None
    eps: float | None = None
    L: float | None = None
    dt: float | None = None
    mesh_hash: str | None = None
    ic_family: str | None = None
    ic_params: dict = field(default_factory=dict)
    seed: int | None = None
    rtol: float | None = None
    #: every attribute as read (plain values; ``ic_params`` decoded, an absent mesh entry None)
    attrs: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any], shape: tuple | None = None) -> "DataDescription":
        """From dataset attributes (raw HDF5 values or :func:`pihamno.data.read_metadata`'s plain ones) and the
        shape ``(trajectories, frames, n, n, n)`` of ``u`` (used where the attributes lack those counts)."""
        from fem.mesh import MeshChoice

        a = decode_attrs(attrs)
        counts = {}
        for k, i in (("trajectories", 0), ("frames", 1), ("n", -1)):
            v = a.get(k, shape[i] if shape else None)
            if v is None:
                raise InputError(f"the dataset attributes lack {k!r} and no shape of 'u' was given")
            counts[k] = int(v)

        def number(k, kind=float):
            return None if a.get(k) is None else kind(a[k])

        return cls(**counts, mesh=MeshChoice.from_attrs(a), element=str(a.get("element") or "P1"),
                   pde=None if a.get("pde") is None else str(a["pde"]), eps=number("eps"), L=number("L"),
                   dt=number("dt"), mesh_hash=a.get("mesh_hash") or None, ic_family=a.get("ic_family") or None,
                   ic_params=dict(a["ic_params"]) if isinstance(a.get("ic_params"), dict) else {},
                   seed=number("seed", int), rtol=number("rtol"), attrs=a)

    # ----------------------------------------------------------------------------------------- the PDE
    @property
    def params(self) -> PDEParams:
        """The PDE and scheme parameters (:meth:`fem.schemes.PDEParams.from_dict` of the attributes);
        :class:`InputError` when they are missing or the PDE is not registered."""
        from fem.schemes import PDEParams

        return PDEParams.from_dict(self.attrs)

    @property
    def equation(self) -> PDE:
        """The registered PDE object of ``pde`` (:func:`fem.pde.get_pde`); :class:`InputError` if unknown."""
        from fem.pde import get_pde

        return get_pde(str(self.pde or "").lower())

    # ----------------------------------------------------------------------------------------- discretisation
    def loss_discretisation(self, mesh: MeshChoice | None = None, element: Element | None = None
                            ) -> tuple[MeshChoice, Element]:
        """``(mesh, element)`` of a physics loss on these data: the ones given, else the data's own."""
        return (self.mesh if mesh is None else mesh), (element or self.element)

    @property
    def grid_split(self) -> Split:
        """The structured split whose lumped mass and energy measure fields on the n^3 node grid: the data's own
        split, and ``"kuhn"`` for mesh-file data (their fields are grid samples too)."""
        return "kuhn" if self.mesh.is_file else self.mesh.split


def decode_attrs(attrs: Mapping[str, Any]) -> dict:
    """Dataset attributes as plain Python values: numpy scalars unwrapped, ``ic_params`` decoded from JSON, an
    empty ``split`` / ``mesh_file`` (how HDF5 stores "absent") None. Decoded attributes decode to themselves."""
    from pihamno.io import plain

    a = {k: plain(v) for k, v in attrs.items()}
    if isinstance(a.get("ic_params"), str):
        try:
            a["ic_params"] = json.loads(a["ic_params"])
        except json.JSONDecodeError:
            pass
    for key in ("split", "mesh_file"):
        if a.get(key) == "":
            a[key] = None
    return a
