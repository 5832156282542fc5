"""Hermite expansions of the activations, and the compiled kernels against their NumPy twins."""

import math

import numpy as np
import pytest
from numpy.polynomial import hermite_e

from sklearn_lofi._activations import (
    ACTIVATIONS,
    activation_function,
    hermite_coefficients,
    hermite_series,
)
from sklearn_lofi._kernels import (
    apply_activation_,
    apply_activation_numpy,
    centre_scale_rows,
    centre_scale_rows_numpy,
    label_weighted_blocks,
    label_weighted_blocks_numpy,
    scale_rows,
    scale_rows_numpy,
)


def _gauss_hermite_coefficients(name, degree, n_nodes=300):
    # Independent reference: Gauss-Hermite quadrature for the weight exp(-t^2/2).
    nodes, weights = hermite_e.hermegauss(n_nodes)
    weights = weights / np.sqrt(2 * np.pi)
    values = activation_function(name)(nodes)
    coefficients = []
    for k in range(degree + 1):
        basis = hermite_e.hermeval(nodes, np.eye(degree + 1)[k])
        coefficients.append(np.sum(weights * values * basis) / math.sqrt(math.factorial(k)))
    return np.array(coefficients)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_coefficients_agree_with_gauss_hermite_quadrature(name):
    degree = 8
    ours = hermite_coefficients(name, degree)
    reference = _gauss_hermite_coefficients(name, degree)
    # ReLU's kink limits Gauss-Hermite quadrature to about 5e-4 at 300 nodes;
    # its closed forms are checked exactly in test_known_closed_forms.
    atol = 1e-3 if name == "relu" else 1e-9
    np.testing.assert_allclose(ours, reference, atol=atol)


@pytest.mark.parametrize("name", ["relu", "erf", "tanh", "sigmoid"])
def test_parseval_the_series_converges_to_the_activation_energy(name):
    # sum_k c_k^2 = E[sigma(g)^2]; the tail beyond degree 40 is small.
    coefficients = hermite_coefficients(name, 40)
    nodes, weights = hermite_e.hermegauss(200)
    energy = np.sum(weights / np.sqrt(2 * np.pi) * activation_function(name)(nodes) ** 2)
    assert abs(np.sum(coefficients**2) - energy) < 5e-3 * energy


def test_known_closed_forms():
    np.testing.assert_allclose(hermite_coefficients("relu", 2), [1 / np.sqrt(2 * np.pi), 0.5,
                                                                1 / np.sqrt(2 * np.pi) / np.sqrt(2)])
    np.testing.assert_allclose(hermite_coefficients("identity", 3), [0, 1, 0, 0])
    coefficients = hermite_coefficients("erf", 3)
    assert coefficients[0] == 0 and coefficients[2] == 0  # odd function
    np.testing.assert_allclose(coefficients[1], 2 / np.sqrt(3 * np.pi))


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_truncated_features_are_polynomials_of_the_preactivation(name, degree):
    t = np.linspace(-3, 3, 61)
    A = t[None, :].copy()
    values = apply_activation_(A, name, degree, 1.0)[0]
    # Exactly a polynomial of degree <= d: the degree-d least-squares fit is exact ...
    fit = np.polynomial.polynomial.polyfit(t, values, degree)
    np.testing.assert_allclose(np.polynomial.polynomial.polyval(t, fit), values, atol=1e-10)
    # ... and its leading coefficient is c_d / sqrt(d!) (He_d is monic).
    c = hermite_coefficients(name, degree)
    np.testing.assert_allclose(fit[degree], c[degree] / math.sqrt(math.factorial(degree)), atol=1e-9)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("degree", [None, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_kernel_agrees_with_numpy_twin(name, degree, dtype, n_threads):
    rng = np.random.RandomState(0)
    A = (3 * rng.standard_normal((50, 33))).astype(dtype)
    expected = apply_activation_numpy(A, name, degree, 0.25)
    got = apply_activation_(A.copy(), name, degree, 0.25, n_threads)
    assert got.dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    # absolute floor: float32 Hermite sums cancel terms of size ~10 near |t| = 4
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * 0.1)


@pytest.mark.parametrize("name", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("degree", [0, 1, 2, 4, 7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_hermite_kernel_equals_numpy_twin_exactly(name, degree, dtype, n_threads):
    # Same constants in the input dtype, same operations in the same order: the
    # compiled series is the NumPy twin bit for bit, float32 included (a float64
    # constant in the loop would promote float32 and break this). 150 rows span
    # several row blocks of the kernel; values beyond the clip are included.
    rng = np.random.RandomState(degree)
    A = (2.5 * rng.standard_normal((150, 37))).astype(dtype)
    expected = apply_activation_numpy(A, name, degree, 0.125)
    got = apply_activation_(A.copy(), name, degree, 0.125, n_threads)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


def test_hermite_kernel_on_views_and_empty_arrays():
    rng = np.random.RandomState(0)
    base = rng.standard_normal((70, 40))
    view = base[::2, 3:30]  # not contiguous
    expected = apply_activation_numpy(view, "relu", 3, 0.5)
    np.testing.assert_array_equal(apply_activation_(view, "relu", 3, 0.5, 2), expected)
    assert apply_activation_(np.empty((0, 5)), "relu", 3, 0.5).shape == (0, 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("shape", [(300, 74), (7, 1), (0, 3)])
def test_scale_rows_equals_numpy_twin(dtype, n_threads, shape):
    rng = np.random.RandomState(1)
    A = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(shape[0])  # float64 weights: cast to A's dtype
    original = A.copy()
    expected = scale_rows_numpy(A, w)
    got = scale_rows(A, w, n_threads)
    assert got.dtype == dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(A, original)  # a new array unless out=A
    in_place = A.copy()
    assert scale_rows(in_place, w, n_threads, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, expected)


def test_scale_rows_validates_and_accepts_views():
    A = np.arange(24.0).reshape(6, 4)
    w = np.arange(6.0)
    np.testing.assert_array_equal(scale_rows(A[:, 1:3], w), A[:, 1:3] * w[:, None])
    np.testing.assert_array_equal(scale_rows(A[::2], [1, 2, 3], 2), A[::2] * np.array([1.0, 2, 3])[:, None])
    with pytest.raises(ValueError, match="weights must have shape"):
        scale_rows(A, w[:5])
    with pytest.raises(ValueError, match="out must have"):
        scale_rows(A, w, out=np.empty((6, 4), np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("shape", [(300, 74), (7, 1), (0, 3)])
def test_centre_scale_rows_equals_numpy_twin(dtype, n_threads, shape):
    rng = np.random.RandomState(3)
    A = (rng.standard_normal(shape) + 5.0).astype(dtype)
    offset = A.mean(axis=0, dtype=np.float64)  # float64 offset and weights: cast to A's dtype
    w = np.sqrt(rng.uniform(size=shape[0]))
    original = A.copy()
    got = centre_scale_rows(A, offset, w, n_threads)
    assert got.dtype == dtype and got.flags.c_contiguous and got.shape == shape
    np.testing.assert_array_equal(got, centre_scale_rows_numpy(A, offset, w))
    np.testing.assert_array_equal(A, original)
    # the readout's old expression, bit for bit
    np.testing.assert_array_equal(got, (A - offset.astype(dtype)) * w[:, None].astype(dtype))


def test_centre_scale_rows_validates_and_accepts_views():
    A = np.arange(24.0).reshape(6, 4)
    np.testing.assert_array_equal(centre_scale_rows(A[:, 1:3], [1.0, 2.0], np.arange(6.0)),
                                  (A[:, 1:3] - [1.0, 2.0]) * np.arange(6.0)[:, None])
    with pytest.raises(ValueError, match="offset must have shape"):
        centre_scale_rows(A, np.zeros(3), np.ones(6))
    with pytest.raises(ValueError, match="weights must have shape"):
        centre_scale_rows(A, np.zeros(4), np.ones(5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("m", [1, 3])
def test_label_weighted_blocks_equals_numpy_twin(dtype, n_threads, m):
    rng = np.random.RandomState(2)
    ZV = rng.standard_normal((257, 74)).astype(dtype)
    R = rng.standard_normal((257, m))
    got = label_weighted_blocks(ZV, R, n_threads)
    assert got.shape == (257, m * 74) and got.dtype == dtype
    np.testing.assert_array_equal(got, label_weighted_blocks_numpy(ZV, R))
    for c in range(m):  # block c is R[:, c:c+1] * ZV
        np.testing.assert_array_equal(got[:, c * 74 : (c + 1) * 74], R[:, c : c + 1].astype(dtype) * ZV)
    out = np.empty_like(got)
    assert label_weighted_blocks(ZV, R, n_threads, out=out) is out
    np.testing.assert_array_equal(out, got)


def test_label_weighted_blocks_one_column_and_validation():
    ZV = np.arange(12.0).reshape(4, 3)
    r = np.array([1.0, -1.0, 2.0, 0.0])
    np.testing.assert_array_equal(label_weighted_blocks(ZV, r), ZV * r[:, None])
    with pytest.raises(ValueError, match="R must have shape"):
        label_weighted_blocks(ZV, np.ones((3, 2)))
    with pytest.raises(ValueError, match="out must have"):
        label_weighted_blocks(ZV, np.ones((4, 2)), out=np.empty((4, 3)))


def test_sigmoid_kernel_does_not_overflow():
    A = np.array([[-800.0, 800.0, 0.0]])
    with np.errstate(all="raise"):
        out = apply_activation_(A, "sigmoid", None, 1.0)
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.5]])


def test_hermite_series_matches_numpy_hermite_e():
    rng = np.random.RandomState(1)
    t = rng.standard_normal(20)
    c = rng.standard_normal(6)
    monic = c / np.sqrt([math.factorial(k) for k in range(6)])
    np.testing.assert_allclose(hermite_series(t, c), hermite_e.hermeval(t, monic), rtol=1e-12)
