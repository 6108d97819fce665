"""The HAMNO paper's element-local weak residual, offered for comparison only: it is INCONSISTENT.

The paper tests the PDE with the P1 basis functions of each tetrahedron separately and never sums the
element contributions: ``r_i^E = sum_j M^E_ij a_j + K^E_ij b_j`` for every element E and local function i.
Because the flux terms of neighbouring elements cancel only after assembly, ``r^E`` does not vanish on
the exact discrete solution (nor on the exact PDE solution): the loss is not minimised by the truth
(published Allen-Cahn figures: ~5.3 on exact data against ~4.3 for a noisy prediction).
``tests/test_physics.py`` checks that this residual stays O(1) on reference data where the assembled one
is at solver tolerance.

Every scheme of :mod:`fem.schemes` has the outer form ``r = M_t a + M_L c + K b`` (``M_t`` = lumped or
consistent mass); :func:`scheme_terms` gives ``(a, b, c)`` (owned by the PDE object,
:meth:`fem.pde.PDE.scheme_terms`) and is tested to reproduce
:func:`fem.schemes.residual` exactly when assembled. The element-local residual applies the unassembled element matrices (4E x N, from
scikit-fem's unsummed COO data) to the same ``a`` and ``b``. The inner quantities (CH's chemical
potential, SH's ``w = (1 + Lap) u``) are computed with the assembled operators, as in the paper.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fem.assembly import Operators
from fem.forms import mass, stiffness
from fem.schemes import PDEParams


def scheme_terms(params: PDEParams, ops, u0, u1):
    """``(a, b, c)`` with ``residual(params, ops, u0, u1) == M_t a + K b + M_L c``; nodal (N, B) each, c may be None.

    The PDE object's split (:meth:`fem.pde.PDE.scheme_terms`): AC ``a = d/tau + (f(u0) + S d)/eps^2, b = u1``;
    CH ``a = d/tau, b = mu1 = eps^2 M_L^-1 K u1 + f(u0) + S d``; SH ``a = d/tau + f(u0) + S d, b = -w1, c = w1``
    with ``w1 = u1 - M_L^-1 K u1``, since ``(M_L - K) M_L^-1 (M_L - K) u1 = M_L w1 - K w1``.
    """
    return params.equation.scheme_terms(params, ops, u0, u1)


def element_matrices(ops: Operators) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Unassembled consistent mass, lumped mass and stiffness ``(nloc E, N)``, and the local lumped masses.

    Row ``nloc * e + i`` of the mass holds ``M^E_ij`` at column ``dof(e, j)`` (element E = e, local i, j);
    the lumped mass row holds only the row sum ``m^E_i = sum_j M^E_ij`` at ``dof(e, i)``; the last output is
    ``m^E_i`` per row, ``(nloc E,)``. Summing the rows of each dof gives back the assembled matrices.
    P2 row sums vanish at the vertices (``int phi_i = 0`` on a tetrahedron), so P2 lumps each element by HRZ,
    ``m^E_i = M^E_ii |E| / sum_k M^E_kk``, which sums to the assembled HRZ lumped mass (the ratio
    ``|E| / tr(M^E)`` is the same for every tetrahedron).
    """
    dofs = ops.basis.element_dofs  # (nloc, E)
    nloc, E = dofs.shape
    rows = (np.arange(E)[None, :] * nloc + np.arange(nloc)[:, None])  # (nloc, E)

    def local(form) -> np.ndarray:
        coo = form.coo_data(ops.basis)
        data = coo.data.reshape(nloc, nloc, E)
        idx = coo.indices.reshape(2, nloc, nloc, E)
        rows_i = np.broadcast_to(dofs[:, None, :], idx[0].shape)  # layout [i, j, e]
        cols_j = np.broadcast_to(dofs[None, :, :], idx[1].shape)
        if np.array_equal(idx[0], rows_i) and np.array_equal(idx[1], cols_j):
            return data
        if np.array_equal(idx[0], cols_j) and np.array_equal(idx[1], rows_i):  # layout [j, i, e]
            return data.transpose(1, 0, 2)
        raise RuntimeError("unexpected layout of scikit-fem's unsummed COO data")

    def unassembled(data) -> sp.csr_matrix:
        r = np.broadcast_to(rows[:, None, :], data.shape).ravel()
        c = np.broadcast_to(dofs[None, :, :], data.shape).ravel()
        return sp.csr_matrix((data.ravel(), (r, c)), shape=(nloc * E, ops.ndofs))

    Mloc, Kloc = local(mass), local(stiffness)
    mloc = Mloc.sum(axis=1)  # (nloc, E) local lumped masses: row sums (P1)
    if ops.element != "P1":  # P2 row sums vanish at the vertices: HRZ per element, diag(M^E) |E| / tr(M^E)
        diag = np.einsum("iie->ie", Mloc)
        mloc = diag * (Mloc.sum(axis=(0, 1)) / diag.sum(axis=0))[None, :]
    Ml = sp.csr_matrix((mloc.ravel(), (rows.ravel(), dofs.ravel())), shape=(nloc * E, ops.ndofs))
    m_rows = np.empty(nloc * E)  # local lumped mass of each row, in the row order e * nloc + i
    m_rows[rows.ravel()] = mloc.ravel()
    return unassembled(Mloc), Ml, unassembled(Kloc), m_rows
