"""The synthetic generators of sklearn_lofi.datasets: valid input, rejected input, and user-facing docstrings."""

import importlib
import inspect
import pkgutil
import re
import warnings

import numpy as np
import pytest

import sklearn_lofi.datasets
from sklearn_lofi.datasets import (
    hidden_features,
    make_graded_quadratic_indices,
    make_quadratic_index,
    make_quadratic_of_quadratics,
)

GENERATORS = [make_quadratic_index, make_graded_quadratic_indices, make_quadratic_of_quadratics]


# --------------------------------------------------------------------------- valid input

@pytest.mark.parametrize("strengths", [(1.0, 0.6, 0.3), [1, -2], np.array([0.5]), range(1, 4)])
def test_graded_indices_accept_1d_strengths(strengths):
    X, y, U = make_graded_quadratic_indices(200, 6, strengths=strengths, random_state=0)
    k = len(np.asarray(strengths))
    assert X.shape == (200, 6) and y.shape == (200,) and U.shape == (k, 6)
    np.testing.assert_allclose(U @ U.T, np.eye(k), atol=1e-12)
    again = make_graded_quadratic_indices(200, 6, strengths=strengths, random_state=0)
    np.testing.assert_array_equal(y, again[1])


def test_graded_indices_as_many_strengths_as_features():
    _, _, U = make_graded_quadratic_indices(50, 3, strengths=[1, 1, 1], random_state=0)
    np.testing.assert_allclose(U @ U.T, np.eye(3), atol=1e-12)


def test_quadratic_of_quadratics_uses_its_hidden_features():
    X, y, inner, outer = make_quadratic_of_quadratics(300, 5, n_hidden=2, random_state=0)
    h = hidden_features(X, inner)
    t = ((h @ outer) * h).sum(axis=1) - np.trace(outer)
    np.testing.assert_allclose(y, t / (np.sqrt(2) * np.linalg.norm(outer)))
    # hidden_features takes lists as well, and any row count
    np.testing.assert_allclose(hidden_features(X[:1].tolist(), inner.tolist()), h[:1])


# --------------------------------------------------------------------------- rejected input

@pytest.mark.parametrize("strengths, message", [
    ([[1, 0.5], [0.2, 0.1]], r"strengths must be an array of shape \(n_directions,\) \(1-D\); got 2-D with shape "
                             r"\(2, 2\)"),
    ([[1.0]], r"got 2-D with shape \(1, 1\)"),
    ([], r"strengths must not be empty; got shape \(0,\)"),
    ([1.0, np.nan], r"strengths must hold finite values; it holds 1 NaN or infinite value\(s\)"),
    ([np.inf, -np.inf], r"it holds 2 NaN or infinite"),
    (["strong", "weak"], "strengths must be an array of numbers .* cannot be converted to floats"),
    ([1, 1, 1, 1, 1, 1], "strengths must hold at most n_features=5 values .*got 6"),
])
def test_graded_indices_reject_bad_strengths(strengths, message):
    with pytest.raises(ValueError, match=message):
        make_graded_quadratic_indices(10, 5, strengths=strengths)


def test_graded_indices_reject_scalar_strengths():
    with pytest.raises(ValueError, match="'strengths' parameter .* must be an array-like"):
        make_graded_quadratic_indices(10, 5, strengths=0.5)


@pytest.mark.parametrize("generator", GENERATORS)
@pytest.mark.parametrize("kwargs", [dict(noise=np.nan), dict(noise=np.inf), dict(noise=-1.0), dict(n_samples=0),
                                    dict(n_features=0), dict(n_samples=2.5)])
def test_generators_reject_bad_scalars(generator, kwargs):
    with pytest.raises(ValueError, match=f"'{next(iter(kwargs))}' parameter of {generator.__name__}"):
        generator(**kwargs)


@pytest.mark.parametrize("inner, message", [
    (np.zeros((1, 4, 4)), r"inner\[0\] is zero: each hidden feature is divided by the Frobenius norm"),
    (np.stack([np.eye(4), np.zeros((4, 4)), np.zeros((4, 4))]), r"inner\[1\], inner\[2\] are zero"),
    (np.full((1, 4, 4), np.nan), r"inner must hold finite values; it holds 16 NaN or infinite value\(s\)"),
    (np.where(np.eye(4), np.inf, 0.0)[None], "inner must hold finite values"),
    (np.eye(5)[None], r"inner must have shape \(n_hidden, 4, 4\) to match the 4 columns of X; got \(1, 5, 5\)"),
    (np.ones((1, 4, 5)), r"inner must have shape \(n_hidden, 4, 4\) .*got \(1, 4, 5\)"),
    (np.eye(4), r"inner must be an array of shape \(n_hidden, n_features, n_features\) \(3-D\); got 2-D"),
    (np.zeros((0, 4, 4)), r"inner must not be empty; got shape \(0, 4, 4\)"),
    (np.triu(np.ones((4, 4)))[None], r"inner\[0\] is not symmetric"),
    ([[["a"] * 4] * 4], "inner must be an array of numbers"),
])
def test_hidden_features_rejects_bad_matrices(inner, message):
    X = np.random.RandomState(0).standard_normal((3, 4))
    with pytest.raises(ValueError, match=message):
        hidden_features(X, inner)


@pytest.mark.parametrize("X, message", [
    (np.zeros(4), r"X must be an array of shape \(n_samples, n_features\) \(2-D\); got 1-D with shape \(4,\)"),
    (np.zeros((2, 2, 4)), "got 3-D"),
    (np.zeros((0, 4)), r"X must not be empty; got shape \(0, 4\)"),
    (np.array([[0.0, np.nan, 1.0, 2.0]]), "X must hold finite values"),
    (np.array([[0.0, np.inf, 1.0, 2.0]]), "X must hold finite values"),
])
def test_hidden_features_rejects_bad_rows(X, message):
    with pytest.raises(ValueError, match=message):
        hidden_features(X, np.eye(4)[None])


def test_hidden_features_zero_matrix_fails_before_any_numpy_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the old behaviour was a RuntimeWarning and NaN features
        with pytest.raises(ValueError, match="is zero"):
            hidden_features(np.ones((3, 4)), np.zeros((1, 4, 4)))


# --------------------------------------------------------------------------- user-facing docstrings

INTERNAL = re.compile(r"shared/research|\.\./shared|method digest|project's shared|section \d+\.\d+")


def _datasets_docstrings():
    modules = [sklearn_lofi.datasets] + [
        importlib.import_module(name)
        for _, name, _ in pkgutil.iter_modules(sklearn_lofi.datasets.__path__, "sklearn_lofi.datasets.")]
    for module in modules:
        yield module.__name__, module.__doc__ or ""
        for name, obj in vars(module).items():
            if inspect.isfunction(obj) and obj.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", obj.__doc__ or ""


def test_docstrings_cite_nothing_internal():
    found = {name: INTERNAL.findall(doc) for name, doc in _datasets_docstrings() if INTERNAL.search(doc)}
    assert not found, found
