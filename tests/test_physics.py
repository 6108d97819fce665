"""Physics losses: the weak and the strong residual vanish on reference data (the full matrix of PDEs, splits,
elements and meshes is tests/test_consistency.py), the strong one is the finite-difference residual off the Kuhn
edges, the paper's element-local one does not vanish, gradients flow."""

import numpy as np
import pytest
import torch
from finite_difference import FiniteDifferenceOperators, laplacian_mirror, mirror_laplacian_matrix

from fem.assembly import assemble
from fem.mesh import MeshChoice, cube_mesh, grid_points, save_mesh
from fem.schemes import SchemeOperators, preset, residual
from fem.solvers import simulate
from pihamno.data import DataDescription
from pihamno.errors import InputError
from pihamno.physics import PhysicsLoss
from pihamno.physics.element_local import element_matrices, scheme_terms

F64 = dict(dtype=torch.float64, device="cpu")
N = 9
DT = {"ac": 1e-3, "ch": 1e-3, "sh": 5e-2}


def smooth_ic(n, L, amp=0.6):
    x, y, z = grid_points(n, L) / L
    return (amp * np.cos(np.pi * x) * np.cos(2 * np.pi * y) + 0.3 * np.cos(np.pi * z)).reshape(n, n, n)


def reference_pair(pde, n=N, split="kuhn", **kw):
    """Two consecutive frames of a reference trajectory (substeps = 1), float64."""
    p = preset(pde, dt=DT[pde], **kw)
    traj = simulate(p, assemble(cube_mesh(n, p.L, split)), smooth_ic(n, p.L), frames=3, rtol=1e-12)
    u = torch.as_tensor(traj.u[1:])  # frames 1, 2 -> (2, n, n, n)
    return p, u[0:1], u[1:2]


@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
@pytest.mark.parametrize("split", ["kuhn", "five"])
def test_weak_and_strong_residuals_vanish_on_reference_data(pde, split):
    p, u0, u1 = reference_pair(pde, split=split)
    phys = PhysicsLoss(p, N, mesh=MeshChoice(split), **F64)
    for term in ("weak", "strong"):
        on_ref = phys(u0, u1)[term].item()
        still = phys(u0, u0)[term].item()  # the residual of standing still: the solver's relative scale
        noisy = phys(u0, u1 + 1e-3 * torch.randn_like(u1))[term].item()
        print(f"{pde}/{split}: {term} loss on reference {on_ref:.2e}, standing still {still:.2e}, noise 1e-3 {noisy:.2e}")
        assert np.sqrt(on_ref / still) < 1e-10  # the solver's rtol 1e-12 in the same (or an equivalent) norm
        assert noisy > 1e6 * on_ref


def test_weak_loss_equals_on_meshio_copy_of_the_mesh(tmp_path):
    p, u0, u1 = reference_pair("ch")
    path = tmp_path / "kuhn.vtu"
    save_mesh(cube_mesh(N, p.L, "kuhn"), path)
    u1n = u1 + 1e-2 * torch.randn_like(u1)
    a = PhysicsLoss(p, N, **F64)(u0, u1n)  # the default mesh: the Kuhn split
    b = PhysicsLoss(p, N, mesh=MeshChoice(file=str(path)), **F64)(u0, u1n)
    for k in ("weak", "strong"):
        assert b[k].item() == pytest.approx(a[k].item(), rel=1e-12)
    five = PhysicsLoss(p, N, mesh=MeshChoice("five"), **F64)(u0, u1n)["weak"].item()
    assert five != pytest.approx(a["weak"].item(), rel=1e-3)  # another mesh, another residual
    with pytest.raises(InputError, match="covers"):
        PhysicsLoss(preset("ch", L=3.0), N, mesh=MeshChoice(file=str(path)), **F64)


def edge_band(n, depth):
    """Nodes within ``depth`` nodes of two faces at once: the cube's 12 edges (and corners), ``depth`` thick."""
    idx = np.arange(n)
    band = (idx < depth) | (idx >= n - depth)
    near = np.zeros((n, n, n), bool)
    for a in range(3):
        for b in range(a + 1, 3):
            m = np.ones((n, n, n), bool)
            for ax in (a, b):
                shape = [1, 1, 1]
                shape[ax] = n
                m &= band.reshape(shape)
            near |= m
    return near


@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
def test_strong_residual_is_the_finite_difference_one_off_the_edges_and_vanishes_on_reference_data(pde):
    """The strong residual R = M_L^-1 r on the Kuhn grid is the 7-point finite-difference residual (the strong loss
    before the consistency contract, ``FiniteDifferenceOperators``) at interior and face nodes more than 1 (AC) or
    2 (CH, SH: nested Laplacians) nodes from an edge, for any fields; at the edges it is the mesh's own stencil,
    so it vanishes on reference data everywhere, where the finite-difference one does not."""
    p, u0, u1 = reference_pair(pde)
    phys = PhysicsLoss(p, N, **F64)
    fd = FiniteDifferenceOperators(N, p.L, "cpu", torch.float64)
    near = edge_band(N, 2 if pde in ("ch", "sh") else 1)
    noisy = u1 + 1e-2 * torch.randn_like(u1)

    def both(a, b):
        X0, X1 = (v.reshape(1, -1).T for v in (a, b))
        R = residual(phys.params, phys.ops, X0, X1) / phys.ops.lumped
        return R.reshape(N, N, N).numpy(), residual(phys.params, fd, X0, X1).reshape(N, N, N).numpy()

    R, R_fd = both(u0, noisy)
    scale = np.abs(R).max()
    assert np.abs(R - R_fd)[~near].max() < 1e-10 * scale  # the same stencil off the edges
    assert np.abs(R - R_fd)[near].max() > 1e-3 * scale  # not at the edges
    R, R_fd = both(u0, u1)  # reference data: the new residual vanishes everywhere, the old one not at the edges
    assert np.abs(R).max() < 1e-9 * scale and np.abs(R_fd)[near].max() > 1e-4 * scale
    on, still = phys(u0, u1), phys(u0, u0)
    assert on["strong"].item() < 1e-20 * still["strong"].item()
    # the same nodal residual in two equivalent norms: L_weak / 5 <= L_strong <= L_weak (P1)
    terms = phys(u0, noisy)
    assert terms["weak"].item() / 5 <= terms["strong"].item() <= terms["weak"].item()


def test_strong_term_stays_on_the_data_discretisation():
    """With P2 test functions on P1 data, the weak term has a floor, the strong one (on the data's P1) vanishes."""
    p, u0, u1 = reference_pair("ac")
    phys = PhysicsLoss(p, N, element="P2", data_element="P1", **F64)
    assert phys.data_disc is not phys.weak_disc and phys.exact == {"strong": True, "weak": False}
    on, still = phys(u0, u1), phys(u0, u0)
    assert on["strong"].item() < 1e-20 * still["strong"].item()
    assert on["weak"].item() > 1e-2 * still["weak"].item()  # P2 test functions on P1 frames: measured 0.29
    separate = {"strong": phys.strong(u0, u1), "weak": phys.weak(u0, u1)}
    for k in on:
        assert separate[k].item() == pytest.approx(on[k].item(), rel=1e-12)
    meta = dict(p.to_dict(), n=N, frames=2, trajectories=1, split="kuhn", mesh_file="", element="P1")
    for_data = PhysicsLoss.for_data(DataDescription.from_attrs(meta), element="P2", **F64)
    assert for_data.data_disc.element == "P1" and for_data.weak_disc.element == "P2"
    assert PhysicsLoss.for_data(DataDescription.from_attrs(dict(meta, split="five")), **F64).mesh == MeshChoice("five")


@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
def test_element_local_residual_does_not_vanish_on_reference_data(pde):
    """The paper's element-local residual is inconsistent: O(1) relative to standing still on exact data."""
    p, u0, u1 = reference_pair(pde)
    el = PhysicsLoss(p, N, weak="element_local", **F64)
    on_ref, still = el(u0, u1)["weak"].item(), el(u0, u0)["weak"].item()
    noisy = el(u0, u1 + 1e-2 * torch.randn_like(u1))["weak"].item()
    print(f"{pde}: element-local loss on reference {on_ref:.3e}, standing still {still:.3e}, noise 1e-2 {noisy:.3e}")
    assert on_ref > 1e-2 * still


@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
@pytest.mark.parametrize("mass", ["lumped", "consistent"])
def test_scheme_terms_reassemble_to_the_residual(pde, mass):
    p = preset(pde, mass=mass)
    fops = assemble(cube_mesh(5, p.L))
    ops = SchemeOperators.from_fem(fops)
    rng = np.random.default_rng(0)
    u0, u1 = rng.standard_normal((125, 2)), rng.standard_normal((125, 2))
    a, b, c = scheme_terms(p, ops, u0, u1)
    total = (ops.lumped * a if mass == "lumped" else ops.M @ a) + ops.K @ b
    if c is not None:
        total = total + ops.lumped * c
    r = residual(p, ops, u0, u1)
    np.testing.assert_allclose(total, r, atol=1e-10 * np.abs(r).max())


@pytest.mark.parametrize("element", ["P1", "P2"])
def test_element_matrices_sum_to_the_assembled_ones(element):
    ops = assemble(cube_mesh(4, 1.0, "five"), element)
    Me, Ml, Ke, m_rows = element_matrices(ops)
    dofs = ops.basis.element_dofs.T.ravel()  # row e * nloc + i belongs to dof(e, i)
    import scipy.sparse as sp

    G = sp.csr_matrix((np.ones(dofs.size), (dofs, np.arange(dofs.size))), shape=(ops.ndofs, dofs.size))
    assert abs(G @ Me - ops.M).max() < 1e-14 and abs(G @ Ke - ops.K).max() < 1e-13
    # the assembled lumped mass: row sums (P1), HRZ (P2, whose vertex row sums are <= 0)
    np.testing.assert_allclose(G @ m_rows, ops.lumped, atol=1e-14)
    np.testing.assert_allclose((G @ Ml).toarray().sum(1), ops.lumped, atol=1e-14)
    assert m_rows.min() > 0


@pytest.mark.parametrize("weak", ["assembled", "element_local"])
def test_gradients_flow(weak):
    p = preset("ch", dt=1e-3)
    phys = PhysicsLoss(p, 5, weak=weak, **F64)
    u0 = torch.rand(2, 5, 5, 5, dtype=torch.float64)
    u1 = torch.rand(2, 5, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: sum(phys(u0, v).values()), (u1,))
    loss = sum(phys(u0, u1).values())
    loss.backward()
    assert torch.isfinite(u1.grad).all() and u1.grad.abs().sum() > 0


@pytest.mark.parametrize("kw", [dict(mesh=MeshChoice(file="meshes/cube_gmsh_h0.5_L2.msh")), dict(element="P2", data_element="P1")])
def test_gradients_flow_through_the_grid_to_dof_maps(kw):
    """The least-squares map of a mesh file (sparse product, then torch.cholesky_solve) and the P2 selection."""
    n = 7
    phys = PhysicsLoss(preset("ac", dt=1e-3), n, **kw, **F64)
    assert phys.weak_disc.inverse.kind == ("least_squares" if "mesh" in kw else "selection")
    u0 = torch.rand(1, n, n, n, dtype=torch.float64)
    u1 = torch.rand(1, n, n, n, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: phys(u0, v)["weak"], (u1,))


def test_p2_and_unstructured_meshes_run_and_prefer_the_reference():
    p, u0, u1 = reference_pair("ac")
    noisy = u1 + 1e-2 * torch.randn_like(u1)
    for kw in (dict(element="P2"), dict(mesh=MeshChoice(file="meshes/cube_gmsh_h0.5_L2.msh"))):
        phys = PhysicsLoss(p, N, **kw, **F64)
        assert phys(u0, u1)["weak"].item() < phys(u0, noisy)["weak"].item()


def test_float32_default_and_bad_shapes():
    p = preset("ac")
    phys = PhysicsLoss(p, 5, device="cpu")
    out = phys(torch.zeros(3, 5, 5, 5), torch.zeros(3, 5, 5, 5))
    assert out["weak"].dtype == torch.float32 and out["weak"].shape == ()
    assert phys(torch.zeros(3, 5, 5, 5), torch.ones(3, 5, 5, 5), reduce=False)["strong"].shape == (3,)
    with pytest.raises(InputError, match=r"\(B, 5, 5, 5\)"):
        phys(torch.zeros(3, 1, 5, 5, 5), torch.zeros(3, 5, 5, 5))
    with pytest.raises(InputError, match="unknown weak"):
        PhysicsLoss(p, 5, weak="local")
    with pytest.raises(InputError, match="L = 15"):
        PhysicsLoss(preset("sh"), 5, mesh=MeshChoice(file="meshes/cube_gmsh_h0.5_L2.msh"))


def test_laplacian_mirror_is_second_order_for_neumann_fields():
    errs = []
    for n in (9, 17, 33):
        L = 2.0
        x = torch.linspace(0, L, n, dtype=torch.float64)
        X, Y, Z = torch.meshgrid(x, x, x, indexing="ij")
        u = torch.cos(np.pi * X / L) * torch.cos(2 * np.pi * Y / L)
        exact = -((np.pi / L) ** 2 + (2 * np.pi / L) ** 2) * u
        errs.append((laplacian_mirror(u[None], L / (n - 1))[0] - exact).abs().max().item())
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(rates - 2) < 0.1)


def test_sparse_mirror_laplacian_equals_the_stencil():
    n, h = 6, 0.3
    u = torch.randn(2, n, n, n, dtype=torch.float64)
    A = mirror_laplacian_matrix(n, h)
    via_matrix = torch.as_tensor((A @ u.reshape(2, -1).numpy().T).T).reshape(2, n, n, n)
    torch.testing.assert_close(via_matrix, laplacian_mirror(u, h), rtol=1e-12, atol=1e-10)
