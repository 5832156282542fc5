"""Infinite-width estimators: NNGP kernels, the finite/kernel identity, convergence."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.preprocessing import StandardScaler

from sklearn_lofi import (
    DeepNNGPClassifier,
    DeepNNGPRegressor,
    KernelLoFiClassifier,
    KernelLoFiRegressor,
    NeuralLoFiClassifier,
    RandomFeatureBaselineClassifier,
)
from sklearn_lofi import _base
from sklearn_lofi._features import ArrayRows, LiftedRows, lift
from sklearn_lofi._nngp import dual_coefficients, nngp_diagonal, nngp_kernel_, nngp_kernel_numpy, series_tail
from sklearn_lofi._ridge import fit_kernel_ridge_loo, fit_ridge_loo
from sklearn_lofi._spectral import label_moments, top_directions
from sklearn_lofi._stack import whitened_filter

KERNELS = [("relu", None), ("erf", None), ("tanh", None), ("sigmoid", None), ("identity", None),
           ("relu", 2), ("relu", 4), ("erf", 3), ("tanh", 5), ("identity", 3)]


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _normalised(X):
    c = np.sqrt(np.mean(np.einsum("ij,ij->i", X, X)))
    Q = X @ X.T / c**2
    return c, Q, np.diag(Q).copy()


@pytest.mark.parametrize("activation, degree", KERNELS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_kernel_equals_numpy_twin_for_any_thread_count(cancer, activation, degree, dtype):
    X = cancer[0][:40].astype(dtype)
    _, Q, v = _normalised(X.astype(np.float64))
    reference = nngp_kernel_numpy(Q, v, v, activation, degree)
    serial = nngp_kernel_(Q.astype(dtype), v, v, activation, degree, 1)
    parallel = nngp_kernel_(Q.astype(dtype), v, v, activation, degree, 2)
    assert serial.dtype == dtype
    np.testing.assert_array_equal(serial, parallel)
    off = ~np.eye(len(v), dtype=bool)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(serial[off], reference[off], rtol=tol, atol=tol * np.abs(reference).max())
    diagonal = nngp_diagonal(v, activation, degree)
    np.testing.assert_allclose(nngp_kernel_(Q.copy(), v, v, activation, degree, symmetric=True).diagonal(),
                               diagonal, rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_hermite_series_reproduces_the_closed_forms(cancer, activation):
    # The Mehler series through quadrature coefficients is an independent route to the
    # arc-cosine and erf kernels; off the diagonal (|rho| < 0.97 here) it converges geometrically.
    _, Q, v = _normalised(cancer[0][:50])
    closed = nngp_kernel_numpy(Q, v, v, activation, None)
    coefs, moments = dual_coefficients(activation, None, v)
    rho = np.clip(Q / np.sqrt(np.outer(v, v)), -1, 1)
    series = np.einsum("ik,jk,ijk->ij", coefs, coefs, rho[:, :, None] ** np.arange(coefs.shape[1]))
    far = np.abs(rho) < 0.97
    assert far.mean() > 0.9
    np.testing.assert_allclose(series[far], closed[far], atol=2e-5 * closed.max())
    np.testing.assert_allclose(moments, np.diag(closed), rtol=1e-10)


def test_truncated_series_terminates_without_clipping():
    # Rows of small variance never reach the clip: the coefficients are the polynomial's own,
    # exactly zero beyond the degree.
    coefs, _ = dual_coefficients("relu", 3, np.array([1e-4, 0.01]))
    assert np.abs(coefs[:, 4:]).max() < 1e-13
    assert series_tail("relu", 3, np.array([1e-4, 0.01])).max() < 1e-12


@pytest.mark.parametrize("activation, degree", KERNELS)
def test_kernel_is_the_monte_carlo_limit_of_the_finite_lift(cancer, activation, degree):
    # Standardised rows have normalised variances from 0.1 to 6 here, so clipping of the
    # truncated series is exercised. The error of the finite Gram matrix shrinks like 1/sqrt(P).
    X = cancer[0][:60]
    c, Q, v = _normalised(X)
    K = nngp_kernel_(Q.copy(), v, v, activation, degree, symmetric=True)
    errors = {}
    for width in (500, 8000):
        errors[width] = np.mean([
            np.linalg.norm(lift(X, np.random.RandomState(seed).standard_normal((X.shape[1], width)), c,
                                activation, degree) @ lift(X, np.random.RandomState(seed).standard_normal(
                                    (X.shape[1], width)), c, activation, degree).T - K) / np.linalg.norm(K)
            for seed in range(4)
        ])
    # sqrt(8000 / 500) = 4; allow for the spread of four seeds
    assert errors[8000] < errors[500] / 2.5
    assert errors[8000] * np.sqrt(8000) < 3.0


def _finite_and_kernel_layer(n=80, width=300, d=6, n_test=20, labels="binary"):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((n + n_test, d))
    if labels == "binary":
        y = np.sign(X[:, 0] * X[:, 1])[:, None]
    else:
        y = np.eye(3)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)]
    X, X_test, y = X[:n], X[n:], y[:n]
    w = np.ones(n)
    c = np.sqrt(np.mean(np.einsum("ij,ij->i", X, X)))
    W = rng.standard_normal((d, width))
    Z, Z_test = lift(X, W, c, "relu", None), lift(X_test, W, c, "relu", None)
    T = label_moments(LiftedRows(ArrayRows(X), W, c, "relu", None, centre=True), y, w)
    values, V, _ = top_directions(T, 10, eig_solver="dense")
    G = Z @ Z.T
    kernel_values, features, coefs, _ = whitened_filter(
        G, y, None, w, 10, selection="abs", eig_solver="dense", random_state=np.random.RandomState(0))
    return y, Z, Z_test, values, V, kernel_values, features, coefs


def _match_up_to_sign(A, B):
    signs = np.sign(np.sum(A * B, axis=0))
    return np.abs(A - B * signs).max() / np.abs(A).max()


@pytest.mark.parametrize("labels", ["binary", "one-hot"])
def test_whitened_n_by_n_form_equals_the_p_by_p_form(labels):
    y, Z, Z_test, values, V, kernel_values, features, coefs = _finite_and_kernel_layer(labels=labels)
    n = Z.shape[0]
    # same operator normalisation (weights w / sum w): the same eigenvalues; the paper's
    # unnormalised M~ = G^(1/2) diag(y) G^(1/2) has them times n
    np.testing.assert_allclose(kernel_values, values, rtol=1e-10)
    if labels == "binary":
        paper = np.linalg.eigvalsh(np.linalg.cholesky(Z @ Z.T).T @ np.diag(y[:, 0]) @ np.linalg.cholesky(Z @ Z.T))
        top = paper[np.argsort(-np.abs(paper))[:10]]
        np.testing.assert_allclose(np.sort(top), np.sort(values) * n, rtol=1e-10)
    assert _match_up_to_sign(Z @ V, features) < 1e-8
    # new rows: Z_x V = G_x^T G^(-1/2) B
    assert _match_up_to_sign(Z_test @ V, (Z_test @ Z.T) @ coefs) < 1e-8


def _decision_gap(finite, kernel, X_test):
    f, k = finite.decision_function(X_test), kernel.decision_function(X_test)
    return np.linalg.norm(f - k) / np.linalg.norm(k)


def test_finite_lofi_converges_to_kernel_lofi(cancer):
    X, y = cancer
    X_train, y_train, X_test = X[:300], y[:300], X[300:]
    params = dict(n_components=8, alpha=1e-2)
    kernel = KernelLoFiClassifier(**params).fit(X_train, y_train)
    gaps = {}
    for width in (250, 4000):
        gaps[width] = np.mean([
            _decision_gap(NeuralLoFiClassifier(width=width, head_width=width, random_state=seed, **params)
                          .fit(X_train, y_train), kernel, X_test)
            for seed in range(3)
        ])
    # expected ratio sqrt(16) = 4
    assert gaps[4000] < gaps[250] / 2.5, gaps


def test_lazy_baseline_converges_to_deep_nngp(cancer):
    X, y = cancer
    X_train, y_train, X_test = X[:300], y[:300], X[300:]
    kernel = DeepNNGPClassifier(n_layers=2, alpha=1e-2).fit(X_train, y_train)
    gaps = {}
    for width in (250, 4000):
        gaps[width] = np.mean([
            _decision_gap(RandomFeatureBaselineClassifier(n_layers=2, width=width, head_width=width, alpha=1e-2,
                                                          random_state=seed).fit(X_train, y_train),
                          kernel, X_test)
            for seed in range(3)
        ])
    assert gaps[4000] < gaps[250] / 2.5, gaps


@pytest.mark.parametrize("weighted", [False, True])
def test_kernel_ridge_with_linear_kernel_equals_ridge_on_features(weighted):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 8)) + 3.0
    Y = X @ rng.standard_normal((8, 2)) + rng.standard_normal((60, 2))
    w = rng.uniform(0.2, 3.0, 60) if weighted else np.ones(60)
    alphas = np.logspace(-3, 3, 13)
    coef, intercept, alpha, scores, loo = fit_ridge_loo(X, Y, w, alphas)
    beta, b, kernel_alpha, kernel_scores, kernel_loo = fit_kernel_ridge_loo(X @ X.T, Y, w, alphas)
    assert kernel_alpha == alpha
    np.testing.assert_allclose(kernel_scores, scores, rtol=1e-8)
    np.testing.assert_allclose(kernel_loo, loo, rtol=1e-8, atol=1e-10)
    X_new = rng.standard_normal((5, 8))
    np.testing.assert_allclose((X_new @ X.T) @ beta + b, X_new @ coef + intercept, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("Est", [KernelLoFiClassifier, DeepNNGPClassifier])
def test_float32_stays_float32_and_agrees_with_float64(cancer, Est):
    X, y = cancer
    X_train, y_train, X_test = X[:300], y[:300], X[300:]
    est64 = Est().fit(X_train, y_train)
    est32 = Est().fit(X_train.astype(np.float32), y_train)
    scores32 = est32.decision_function(X_test.astype(np.float32))
    assert scores32.dtype == np.float32
    assert est32.alpha_ == est64.alpha_
    scores64 = est64.decision_function(X_test)
    assert np.linalg.norm(scores32 - scores64) / np.linalg.norm(scores64) < 2e-3
    assert np.mean(np.sign(scores32) == np.sign(scores64)) > 0.99


@pytest.mark.parametrize("Est", [KernelLoFiClassifier, DeepNNGPClassifier])
def test_invariant_to_the_scale_of_the_input_and_no_float32_overflow(cancer, Est):
    # the RMS normalisation makes every layer scale-free; the products are
    # formed after it, so 1e18-sized float32 inputs do not overflow
    X, y = cancer
    reference = Est().fit(X[:250], y[:250]).decision_function(X[250:])
    scaled = Est().fit(X[:250] * 1e6, y[:250]).decision_function(X[250:] * 1e6)
    np.testing.assert_allclose(scaled, reference, rtol=1e-7, atol=1e-9 * np.abs(reference).max())
    huge = Est().fit((X[:250] * 1e18).astype(np.float32), y[:250]).decision_function(
        (X[250:] * 1e18).astype(np.float32))
    assert np.all(np.isfinite(huge))
    assert np.mean(np.sign(huge) == np.sign(reference)) > 0.99


@pytest.mark.parametrize("Est", [KernelLoFiRegressor, DeepNNGPRegressor])
def test_float32_far_from_the_origin_equals_float64(Est):
    # bug-cases BR-05 for the kernel form: rows offset by 1e4 differ only in the last
    # digits of their kernel; computed in float32, the deep NNGP scored R^2 -3.7
    # (float64: 0.66) and kernel Neural LoFi 0.004 (float64: 0.56)
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=600, n_features=10, noise=1.0, random_state=0)
    X = X + 1e4
    est64 = Est().fit(X, y)
    est32 = Est().fit(X.astype(np.float32), y.astype(np.float32))
    pred32 = est32.predict(X.astype(np.float32))
    assert pred32.dtype == np.float32
    np.testing.assert_allclose(pred32, est64.predict(X), rtol=1e-4, atol=1e-4 * np.abs(y).max())
    assert est32.score(X.astype(np.float32), y) > 0.3


@pytest.mark.parametrize("Est", [KernelLoFiClassifier, DeepNNGPClassifier])
@pytest.mark.parametrize("scale", [1e-160, 1e-200, 1e150])
def test_extreme_input_scales_give_the_same_model(cancer, Est, scale):
    # squared norms of 1e-160 rows are subnormal, of 1e-200 rows zero, of 1e150 rows
    # infinite: the normaliser squares the rows over their largest entry instead
    X, y = cancer
    reference = Est().fit(X[:250], y[:250]).decision_function(X[250:])
    scaled = Est().fit(X[:250] * scale, y[:250]).decision_function(X[250:] * scale)
    np.testing.assert_allclose(scaled, reference, rtol=1e-6, atol=1e-8 * np.abs(reference).max())


def test_nearly_parallel_rows_warn():
    rng = np.random.RandomState(0)
    X, y = rng.standard_normal((60, 3)) + 1e8, rng.randint(0, 2, 60)
    with pytest.warns(UserWarning, match="nearly parallel"):
        DeepNNGPClassifier().fit(X, y)


def test_multiclass_and_multi_output(cancer):
    X, y = load_digits(return_X_y=True)
    clf = KernelLoFiClassifier(n_components=32).fit(X[:600], y[:600])
    assert clf.score(X[600:1000], y[600:1000]) > 0.95
    assert clf.predict_proba(X[:3]).shape == (3, 10)
    Xc, _ = cancer
    Y = np.column_stack([Xc[:, 0] * Xc[:, 1], Xc[:, 2] ** 2])
    reg = KernelLoFiRegressor(n_components=8).fit(Xc[:300], Y[:300])
    assert reg.predict(Xc[300:]).shape == (269, 2)
    assert reg.score(Xc[300:], Y[300:]) > 0.5


def test_too_many_components_are_clipped_with_a_warning():
    rng = np.random.RandomState(0)
    X, y = rng.standard_normal((30, 4)), rng.randint(0, 2, 30)
    with pytest.warns(UserWarning, match=r"Fewer directions.*at most n_samples\)") as caught:
        clf = KernelLoFiClassifier(n_components=100).fit(X, y)
    assert not any("width" in str(w.message) for w in caught)  # the kernel estimators have none
    assert clf.n_components_[0] <= 30
    assert np.all(np.isfinite(clf.decision_function(X)))


@pytest.mark.parametrize("Est", [KernelLoFiClassifier, DeepNNGPRegressor])
def test_too_large_n_fails_at_once_and_leaves_the_estimator_as_it_was(cancer, Est, monkeypatch):
    X, y = cancer
    est = Est().fit(X[:100], y[:100])
    before = est.decision_function(X[:5]) if hasattr(est, "decision_function") else est.predict(X[:5])
    monkeypatch.setattr(_base, "available_memory", lambda: 2**20)
    with pytest.raises(MemoryError, match=r"n_samples=300 .* n_samples\*\*3 in time"):
        est.fit(X[:300], y[:300])
    after = est.decision_function(X[:5]) if hasattr(est, "decision_function") else est.predict(X[:5])
    np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("eig_solver", ["dense", "arpack", "randomized"])
def test_results_do_not_depend_on_the_thread_count(cancer, eig_solver):
    X, y = cancer
    fits = [KernelLoFiClassifier(n_layers=2, n_components=8, eig_solver=eig_solver, random_state=0, n_jobs=n_jobs)
            .fit(X[:250], y[:250]) for n_jobs in (1, 2)]
    np.testing.assert_array_equal(fits[0].decision_function(X[250:]), fits[1].decision_function(X[250:]))
    tanh = [DeepNNGPRegressor(activation="tanh", n_jobs=n_jobs).fit(X[:250], y[:250]) for n_jobs in (1, 2)]
    np.testing.assert_array_equal(tanh[0].predict(X[250:]), tanh[1].predict(X[250:]))


@pytest.mark.parametrize("Est, params", [
    (KernelLoFiClassifier, dict(n_layers=2, n_components=6)),
    (KernelLoFiRegressor, dict(head=False, degree=2)),
    (DeepNNGPClassifier, dict(n_layers=3, activation="tanh")),
    (DeepNNGPRegressor, dict(head=False, activation="erf")),
])
def test_pickle_round_trip_gives_identical_predictions(cancer, Est, params, tmp_path):
    X, y = cancer
    est = Est(**params).fit(X[:200], y[:200])
    method = "decision_function" if hasattr(est, "decision_function") else "predict"
    expected = getattr(est, method)(X[200:])
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(getattr(clone, method)(X[200:]), expected)
    # and in a fresh process
    import subprocess
    import sys

    with open(tmp_path / "model.pkl", "wb") as handle:
        pickle.dump(est, handle)
    np.save(tmp_path / "X.npy", X[200:])
    code = (f"import pickle, numpy as np; m = pickle.load(open({str(tmp_path / 'model.pkl')!r}, 'rb')); "
            f"np.save({str(tmp_path / 'out.npy')!r}, m.{method}(np.load({str(tmp_path / 'X.npy')!r})))")
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_readout_on_features_and_unfiltered_layers_without_head(cancer):
    X, y = cancer
    clf = KernelLoFiClassifier(n_components=8, head=False).fit(X[:300], y[:300])
    assert clf.dual_coef_ is None and clf.coef_.shape == (8, 1)
    nngp = DeepNNGPClassifier(n_layers=2, head=False).fit(X[:300], y[:300])
    assert nngp.coef_ is None and nngp.dual_coef_.shape == (300, 1)
    assert nngp.score(X[300:], y[300:]) > 0.9
    # no layers, no head: ridge on the raw features
    linear = DeepNNGPRegressor(n_layers=0, head=False, alpha=1.0).fit(X[:300], y[:300])
    from sklearn.linear_model import Ridge

    np.testing.assert_allclose(linear.predict(X[300:]), Ridge(alpha=1.0).fit(X[:300], y[:300]).predict(X[300:]),
                               rtol=1e-8)
