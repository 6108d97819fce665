"""Physics losses: the assembled weak residual vanishes on reference data, the strong one is small there and
shrinks under refinement, the paper's element-local one does not vanish, gradients flow."""

import numpy as np
import pytest
import torch

from fem.assembly import assemble
from fem.mesh import MeshChoice, cube_mesh, grid_points, save_mesh
from fem.schemes import SchemeOperators, preset, residual
from fem.solvers import simulate
from pihamno.errors import InputError
from pihamno.physics import PhysicsLoss, combine_losses, laplacian_mirror, mirror_laplacian_matrix
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
def test_weak_residual_vanishes_on_reference_data(pde, split):
    p, u0, u1 = reference_pair(pde, split=split)
    phys = PhysicsLoss(p, N, split=split, **F64)
    on_ref = phys(u0, u1)["weak"].item()
    still = phys(u0, u0)["weak"].item()  # the residual of standing still: the solver's relative scale
    noisy = phys(u0, u1 + 1e-3 * torch.randn_like(u1))["weak"].item()
    print(f"{pde}/{split}: weak loss on reference {on_ref:.2e}, standing still {still:.2e}, noise 1e-3 {noisy:.2e}")
    assert np.sqrt(on_ref / still) < 1e-10  # the solver's rtol 1e-12 in the same dual norm
    assert noisy > 1e6 * on_ref


def test_weak_loss_equals_on_meshio_copy_of_the_mesh(tmp_path):
    p, u0, u1 = reference_pair("ch")
    path = tmp_path / "kuhn.vtu"
    save_mesh(cube_mesh(N, p.L, "kuhn"), path)
    u1n = u1 + 1e-2 * torch.randn_like(u1)
    a = PhysicsLoss(p, N, split="kuhn", **F64)(u0, u1n)
    for phys in (PhysicsLoss(p, N, mesh=path, **F64), PhysicsLoss(p, N, mesh=MeshChoice(file=str(path)), **F64)):
        b = phys(u0, u1n)
        for k in ("weak", "strong"):
            assert b[k].item() == pytest.approx(a[k].item(), rel=1e-12)
    five = PhysicsLoss(p, N, split="five", **F64)(u0, u1n)["weak"].item()
    assert PhysicsLoss(p, N, mesh=MeshChoice("five"), **F64)(u0, u1n)["weak"].item() == five
    with pytest.raises(InputError, match="covers"):
        PhysicsLoss(preset("ch", L=3.0), N, mesh=path, **F64)


@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
def test_strong_residual_is_zero_off_the_edges_and_small(pde):
    """With the lumped scheme mass, R_strong = M_L^-1 r_weak at interior and face nodes (Kuhn), so on reference
    data the strong residual lives on the 12 edges and 8 corners only (CH's nested Laplacian spreads it one
    node inwards)."""
    p, u0, u1 = reference_pair(pde)
    phys = PhysicsLoss(p, N, **F64)
    X0, X1 = (u.reshape(1, -1).T for u in (u0, u1))
    R = residual(phys.params, phys.fd, X0, X1).reshape(N, N, N).abs()
    on = np.zeros(N, bool)
    on[[0, -1]] = True
    depth = 2 if pde in ("ch", "sh") else 1  # nested operators: edge effects reach one node further in
    near = np.zeros((N, N, N), bool)
    idx = np.arange(N)
    band = (idx < depth) | (idx >= N - depth)
    for a in range(3):
        for b in range(a + 1, 3):
            m = np.ones((N, N, N), bool)
            for ax in (a, b):
                shape = [1, 1, 1]
                shape[ax] = N
                m &= band.reshape(shape)
            near |= m
    scale = R.max().item()
    assert scale > 0
    assert R.numpy()[~near].max() < 1e-8 * scale
    noisy = phys(u0, u1 + 1e-2 * torch.randn_like(u1))["strong"].item()
    assert phys(u0, u1)["strong"].item() < 0.1 * noisy


def test_strong_residual_shrinks_under_refinement():
    """The strong residual of reference AC data lives on edges/corners (measure O(h^2)): L_strong = O(h^2)."""
    losses = []
    ns = (9, 17, 33)
    for n in ns:
        p, u0, u1 = reference_pair("ac", n=n)
        losses.append(PhysicsLoss(p, n, **F64)(u0, u1)["strong"].item())
    rates = np.log2(np.array(losses[:-1]) / np.array(losses[1:]))
    print(f"strong loss on reference AC data for n={ns}: {losses}, rates {rates}")
    assert np.all(rates > 1.7)


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
    np.testing.assert_allclose(G @ m_rows, np.asarray(ops.M.sum(axis=1)).ravel(), atol=1e-14)
    np.testing.assert_allclose((G @ Ml).toarray().sum(1), np.asarray(ops.M.sum(axis=1)).ravel(), atol=1e-14)


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


def test_p2_and_unstructured_meshes_run_and_prefer_the_reference():
    p, u0, u1 = reference_pair("ac")
    noisy = u1 + 1e-2 * torch.randn_like(u1)
    for kw in (dict(element="P2"), dict(mesh="meshes/cube_gmsh_h0.5_L2.msh")):
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
        PhysicsLoss(preset("sh"), 5, mesh="meshes/cube_gmsh_h0.5_L2.msh")


def test_combine_losses():
    d = torch.tensor(2.0)
    ph = {"strong": torch.tensor(4.0), "weak": torch.tensor(8.0)}
    assert combine_losses(d, None, 0.0).item() == 2.0
    assert combine_losses(d, ph, 0.25, 0.5, 0.25).item() == pytest.approx(0.75 * 2 + 0.25 * (2 + 2))
    assert combine_losses(d, ph, 1.0).item() == 12.0
    with pytest.raises(InputError):
        combine_losses(d, ph, 1.5)


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
