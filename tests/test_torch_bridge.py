"""The scipy -> torch sparse bridge: products equal scipy's, gradients are right, shapes are checked."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from fem.assembly import assemble
from fem.interpolation import grid_to_points
from fem.mesh import cube_mesh, grid_points
from fem.torch_bridge import SparseOperator, diagonal_tensor, to_torch_csr
from pihamno.errors import InputError

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def ops():
    return assemble(cube_mesh(6, 2.0, "kuhn"))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-13), (torch.float32, 1e-5)])
def test_products_equal_scipy(ops, device, dtype, tol):
    X = np.random.default_rng(0).standard_normal((ops.ndofs, 3))
    for A in (ops.M, ops.K):
        op = SparseOperator(A, device=device, dtype=dtype)
        assert op.symmetric and op.A.layout == torch.sparse_csr
        Y = op @ torch.as_tensor(X, device=device)
        ref = A @ X
        np.testing.assert_allclose(Y.cpu().double().numpy(), ref, atol=tol * np.abs(ref).max())
        y = op @ torch.as_tensor(X[:, 0], device=device)
        assert y.shape == (ops.ndofs,)


def test_apply_batch_on_grid_fields(ops):
    n = 6
    u = torch.randn(4, n, n, n, dtype=torch.float64)
    K = SparseOperator(ops.K, dtype=torch.float64)
    out = K.apply_batch(u)
    assert out.shape == (4, n**3)
    ref = (ops.K @ u.reshape(4, -1).numpy().T).T
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


def test_gradcheck_symmetric_and_rectangular(ops):
    K = SparseOperator(ops.K, dtype=torch.float64)
    X = torch.randn(ops.ndofs, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: K @ x, (X,))
    pts = np.random.default_rng(3).uniform(0, 2.0, (3, 17))
    P = SparseOperator(grid_to_points(pts, 6, 2.0), dtype=torch.float64)
    assert not P.symmetric
    assert torch.autograd.gradcheck(lambda x: P @ x, (X,))


def test_gradient_of_quadratic_form_is_2Ku(ops):
    """d/du (u^T K u) = 2 K u: the backward uses K^T = K."""
    K = SparseOperator(ops.K, dtype=torch.float64)
    u = torch.randn(ops.ndofs, 1, dtype=torch.float64, requires_grad=True)
    (u * (K @ u)).sum().backward()
    np.testing.assert_allclose(u.grad.numpy(), 2 * ops.K @ u.detach().numpy(), atol=1e-12)
    assert not K.A.requires_grad


def test_shape_mismatch_is_refused(ops):
    K = SparseOperator(ops.K)
    with pytest.raises(InputError, match=r"expected \(216, batch\)"):
        K @ torch.zeros(10, 2)
    with pytest.raises(InputError, match="expects 216"):
        K.apply_batch(torch.zeros(2, 5, 5, 5))


def test_to_and_diagonal(ops):
    K = SparseOperator(ops.K).to(dtype=torch.float64)
    assert K.dtype == torch.float64
    d = diagonal_tensor(ops.lumped, dtype=torch.float64)
    assert d.shape == (ops.ndofs, 1) and float(d.sum()) == pytest.approx(8.0)
    A = to_torch_csr(sp.eye(3, format="csr"))
    assert A.crow_indices().dtype == torch.int32


def test_nonsymmetric_detection():
    A = sp.csr_matrix(np.array([[1.0, 2.0], [0.0, 1.0]]))
    op = SparseOperator(A, dtype=torch.float64)
    assert not op.symmetric
    x = torch.ones(2, 1, dtype=torch.float64, requires_grad=True)
    (op @ x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy().ravel(), A.T @ np.ones(2))


def test_grid_points_layout_matches_field_reshape():
    n = 3
    p = torch.as_tensor(grid_points(n, 1.0))
    assert torch.allclose(p[0].reshape(n, n, n)[2, 0, 1], torch.tensor(1.0, dtype=p.dtype))
