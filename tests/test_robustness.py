"""Numerical robustness: extreme scales, degenerate data, imbalance, high degree.

Complements tests/test_estimators.py and tests/test_kernel.py (which cover
1e18 float32 inputs, constant columns, integer weights for the finite
estimators and extreme scales for the kernel classifiers).
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lofi import (
    ConvLoFiTransformer,
    DeepNNGPClassifier,
    DeepNNGPRegressor,
    KernelLoFiClassifier,
    KernelLoFiRegressor,
    LoFiTransformer,
    NeuralLoFiClassifier,
    NeuralLoFiRegressor,
    RandomFeatureBaselineClassifier,
    RandomFeatureBaselineRegressor,
)

FINITE = dict(width=48, head_width=64, random_state=0)
MAKERS = {
    "NeuralLoFiRegressor": (lambda: NeuralLoFiRegressor(n_components=4, **FINITE), "predict"),
    "RandomFeatureBaselineRegressor": (lambda: RandomFeatureBaselineRegressor(**FINITE), "predict"),
    "KernelLoFiRegressor": (lambda: KernelLoFiRegressor(n_components=4), "predict"),
    "DeepNNGPRegressor": (lambda: DeepNNGPRegressor(), "predict"),
    "LoFiTransformer": (lambda: LoFiTransformer(width=48, n_components=4, random_state=0), "transform"),
    "ConvLoFiTransformer": (
        lambda: ConvLoFiTransformer(image_shape=(2, 3), patch_size=2, width=16, n_components=3, random_state=0),
        "transform"),
}
FINITE_MAKERS = [k for k in MAKERS if not k.startswith(("Kernel", "DeepNNGP"))]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=80, n_features=6, noise=1.0, random_state=0)
    return X, y


def _out(name, X, y):
    make, method = MAKERS[name]
    return getattr(make().fit(X, y), method)(X)


def _rel_err(a, b):
    return np.abs(a.astype(np.float64) - b).max() / np.abs(b).max()


# --------------------------------------------------------------------------------------
# Global rescaling of X: every layer divides by the RMS input norm, so the model
# does not depend on the overall scale of X (doc/user_guide.rst, "Parameters").
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MAKERS))
@pytest.mark.parametrize("scale", [1e-8, 1e8])
def test_global_rescaling_of_x_leaves_the_model_unchanged(regression, name, scale):
    X, y = regression
    reference = _out(name, X, y)
    # float64: equal up to rounding
    assert _rel_err(_out(name, X * scale, y), reference) < 1e-10
    # float32: equal up to float32 rounding of the lift, operator and readout
    X32 = (X * scale).astype(np.float32)
    out32 = _out(name, X32, y)
    assert out32.dtype == np.float32
    assert np.all(np.isfinite(out32))
    assert _rel_err(out32, reference) < 1e-3


@pytest.mark.parametrize("name", FINITE_MAKERS)
def test_power_of_two_rescaling_is_bit_exact(regression, name):
    # scaling by 2**k changes only exponents, so the normalised rows are the same bits
    X, y = regression
    reference = _out(name, X, y)
    for k in (-60, 60):
        np.testing.assert_array_equal(_out(name, X * 2.0**k, y), reference)


@pytest.mark.parametrize("name", ["NeuralLoFiRegressor", "RandomFeatureBaselineRegressor"])
def test_huge_float64_inputs_give_the_same_model(regression, name):
    # squared norms of 1e160 rows overflow float64; tanh is not homogeneous, so a
    # normaliser that gave up (c=1) would feed it pre-activations of 1e160
    X, y = regression
    make, _ = MAKERS[name]
    reference = make().set_params(activation="tanh").fit(X, y).predict(X)
    scaled = make().set_params(activation="tanh").fit(X * 1e160, y).predict(X * 1e160)
    assert _rel_err(scaled, reference) < 1e-10


@pytest.mark.parametrize("scale", [1e-160, 1e-200])
@pytest.mark.parametrize("name", ["NeuralLoFiRegressor", "RandomFeatureBaselineRegressor"])
def test_tiny_float64_inputs_give_the_same_model(regression, name, scale):
    X, y = regression
    make, _ = MAKERS[name]
    reference = make().set_params(activation="tanh").fit(X, y).predict(X)
    scaled = make().set_params(activation="tanh").fit(X * scale, y).predict(X * scale)
    assert _rel_err(scaled, reference) < 1e-10


@pytest.mark.parametrize("name", ["NeuralLoFiRegressor", "RandomFeatureBaselineRegressor"])
def test_subnormal_float32_inputs_give_the_same_model(regression, name):
    X, y = regression
    X32 = (X * 1e-40).astype(np.float32)  # subnormal in float32, still nonzero
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow, not even a stray one
        out = _out(name, X32, y)
    assert _rel_err(out, _out(name, X, y)) < 1e-3


@pytest.mark.parametrize("name", ["NeuralLoFiRegressor", "RandomFeatureBaselineRegressor", "KernelLoFiRegressor",
                                  "DeepNNGPRegressor"])
def test_huge_targets_are_rejected_with_the_limit(regression, name):
    # squared residuals of targets beyond ~1e154 overflow the readout's sums: a clear error, not garbage
    X, y = regression
    make, _ = MAKERS[name]
    with pytest.raises(ValueError, match="targets up to 1e\\+150 in magnitude"):
        make().fit(X, y * 1e200)
    assert np.isfinite(make().fit(X, y * 1e140).predict(X)).all()


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_operator_labels_keep_their_scale_at_extreme_magnitudes(regression, scale):
    # the transformer's filter depends on y only up to scale, whatever its magnitude
    X, y = regression
    layer = dict(width=32, n_components=3, target_type="continuous", random_state=0)
    reference = LoFiTransformer(**layer).fit(X, y)
    scaled = LoFiTransformer(**layer).fit(X, y * scale)
    np.testing.assert_allclose(scaled.eigenvalues_[0], reference.eigenvalues_[0], rtol=1e-10)
    np.testing.assert_allclose(scaled.transform(X), reference.transform(X), rtol=1e-8, atol=1e-10)


def test_mixed_column_scales_stay_finite_and_standardising_recovers_the_model():
    # per-column scales are *not* normalised (user guide): the raw fit is only
    # required to be finite; standardising first gives the well-scaled model
    X, y = make_classification(n_samples=200, n_features=6, n_informative=4, random_state=0)
    scales = np.array([1e-12, 1e-6, 1.0, 1e6, 1e12, 1.0])
    for Est in (NeuralLoFiClassifier, RandomFeatureBaselineClassifier):
        params = {**FINITE, **({"n_components": 4} if Est is NeuralLoFiClassifier else {})}
        for dtype in (np.float64, np.float32):
            Xm = (X * scales).astype(dtype)
            proba = Est(**params).fit(Xm, y).predict_proba(Xm)
            assert np.all(np.isfinite(proba))
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        Xs = StandardScaler().fit_transform(X)
        ref = Est(**params).fit(Xs, y).decision_function(Xs)
        pipe = make_pipeline(StandardScaler(), Est(**params)).fit(X * scales, y)
        np.testing.assert_allclose(pipe.decision_function(X * scales), ref, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------------------
# Duplicates, constant columns, near-singular readouts
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["KernelLoFiRegressor", "DeepNNGPRegressor", "NeuralLoFiRegressor",
                                  "RandomFeatureBaselineRegressor"])
def test_duplicated_rows_equal_weight_two(regression, name):
    # every row twice (a singular Gram matrix for the kernel estimators) is the
    # same fit as the rows once with sample_weight=2
    X, y = regression
    X, y = X[:40], y[:40]
    make, method = MAKERS[name]
    # a fixed alpha: leave-one-out sees a duplicated row differently from a weight
    # of 2 (its twin stays in), so the chosen alpha may legitimately differ
    make_fixed = lambda: make().set_params(alpha=1e-3)  # noqa: E731
    twice = getattr(make_fixed().fit(np.vstack([X, X]), np.r_[y, y]), method)(X)
    weighted = getattr(make_fixed().fit(X, y, sample_weight=np.full(len(y), 2.0)), method)(X)
    assert np.all(np.isfinite(twice))
    np.testing.assert_allclose(twice, weighted, rtol=1e-6, atol=1e-6 * np.abs(y).max())


@pytest.mark.parametrize("Est", [NeuralLoFiClassifier, RandomFeatureBaselineClassifier, KernelLoFiClassifier,
                                 DeepNNGPClassifier])
def test_duplicated_and_constant_columns_and_collinear_features(Est):
    X, y = make_classification(n_samples=120, n_features=4, n_informative=3, n_redundant=0, random_state=1)
    params = dict(FINITE) if Est in (NeuralLoFiClassifier, RandomFeatureBaselineClassifier) else {}
    if Est in (NeuralLoFiClassifier, KernelLoFiClassifier):
        params["n_components"] = 4
    base = Est(**params).fit(X, y).score(X, y)
    variants = {
        "duplicated": np.hstack([X, X]),
        "constant": np.hstack([X, np.zeros((120, 2)), np.full((120, 1), 3.0)]),
        "collinear": np.hstack([X, X @ np.random.RandomState(0).standard_normal((4, 6))]),
        "rank_one": np.outer(X[:, 0], [1.0, -2.0, 0.5]),
    }
    for kind, Xv in variants.items():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Fewer directions", category=UserWarning)
            clf = Est(**params).fit(Xv, y)
        proba = clf.predict_proba(Xv)
        assert np.all(np.isfinite(proba)), kind
        assert np.all(np.isfinite(clf.decision_function(Xv))), kind
        if kind != "rank_one":  # the same information as X: a comparable training fit
            assert clf.score(Xv, y) >= base - 0.1, kind


@pytest.mark.parametrize("alpha", [None, 0.0, 1e-12])
@pytest.mark.parametrize("Est", [NeuralLoFiRegressor, RandomFeatureBaselineRegressor, KernelLoFiRegressor,
                                 DeepNNGPRegressor])
def test_fewer_samples_than_features_with_no_ridge(Est, alpha):
    # 12 rows, a 64-wide layer and a 128-wide head: the readout's Gram matrix is
    # singular; with alpha=0 the solution must still be finite (minimum norm)
    rng = np.random.RandomState(0)
    X = rng.standard_normal((12, 5))
    y = X[:, 0] - X[:, 1] ** 2
    params = dict(width=64, head_width=128, random_state=0) if "Kernel" not in Est.__name__ and \
        "NNGP" not in Est.__name__ else {}
    if Est in (NeuralLoFiRegressor, KernelLoFiRegressor):
        params["n_components"] = 8
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Fewer directions", category=UserWarning)
        reg = Est(alpha=alpha, **params).fit(X, y)
    X_new = rng.standard_normal((30, 5))
    pred = reg.predict(X_new)
    assert np.all(np.isfinite(pred))
    # an interpolating (or nearly) fit of the training rows, and no blow-up off them
    assert np.abs(reg.predict(X) - y).max() < np.ptp(y)
    assert np.abs(pred).max() < 100 * np.abs(y).max()


# --------------------------------------------------------------------------------------
# Imbalanced classes
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("Est", [NeuralLoFiClassifier, RandomFeatureBaselineClassifier, KernelLoFiClassifier,
                                 DeepNNGPClassifier])
def test_very_imbalanced_classes_beat_the_majority_rule(Est):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((400, 5))
    y = np.zeros(400, dtype=int)
    y[[0, 200]] = 1  # 1 minority row in each half: 2 of 200 in training
    X[y == 1] += 4.0  # the minority rows are far out
    train, test = slice(0, 200), slice(200, 400)
    params = dict(FINITE) if Est in (NeuralLoFiClassifier, RandomFeatureBaselineClassifier) else {}
    if Est in (NeuralLoFiClassifier, KernelLoFiClassifier):
        params["n_components"] = 4
    Xtr, ytr = X[train], y[train].copy()
    ytr[1] = 1  # 2 of 200
    Xtr[1] += 4.0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Fewer directions", category=UserWarning)
        clf = Est(**params).fit(Xtr, ytr)
    proba = clf.predict_proba(X[test])
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-10)
    majority = np.mean(y[test] == 0)
    assert clf.score(X[test], y[test]) >= majority
    assert clf.score(Xtr, ytr) >= np.mean(ytr == 0)
    assert np.all(np.isin(clf.predict(X[test]), [0, 1]))


# --------------------------------------------------------------------------------------
# High degree in float32
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("degree", [8, 12])
@pytest.mark.parametrize("Est", [NeuralLoFiClassifier, RandomFeatureBaselineClassifier, KernelLoFiClassifier,
                                 DeepNNGPClassifier])
def test_high_degree_float32_agrees_with_float64(Est, degree):
    X, y = make_classification(n_samples=150, n_features=6, n_informative=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    X[0] *= 8.0  # an outlying row: high Hermite degrees amplify it most
    params = dict(FINITE) if Est in (NeuralLoFiClassifier, RandomFeatureBaselineClassifier) else {}
    if Est in (NeuralLoFiClassifier, KernelLoFiClassifier):
        params["n_components"] = 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow or invalid value anywhere
        warnings.filterwarnings("ignore", message="Fewer directions", category=UserWarning)
        d64 = Est(degree=degree, **params).fit(X, y).decision_function(X)
        clf32 = Est(degree=degree, **params).fit(X.astype(np.float32), y)
        d32 = clf32.decision_function(X.astype(np.float32))
        proba32 = clf32.predict_proba(X.astype(np.float32))
    assert d32.dtype == np.float32
    assert np.all(np.isfinite(d32)) and np.all(np.isfinite(proba32))
    assert np.corrcoef(d32, d64)[0, 1] > 0.999
    assert np.mean(np.sign(d32) == np.sign(d64)) >= 0.98
    assert clf32.score(X.astype(np.float32), y) > 0.8  # not silent garbage


# --------------------------------------------------------------------------------------
# Limits: the library's clear errors and warnings
# --------------------------------------------------------------------------------------
def test_limits_give_clear_errors_and_warnings():
    rng = np.random.RandomState(0)
    X, y = rng.standard_normal((30, 3)), np.r_[np.zeros(15), np.ones(15)].astype(int)
    for Est in (NeuralLoFiClassifier, KernelLoFiClassifier, DeepNNGPClassifier):
        with pytest.raises(ValueError, match="non-zero|positive sum"):
            Est().fit(X, y, sample_weight=np.zeros(30))
        # all the weight on one class is a single class
        with pytest.raises(ValueError, match="at least 2 classes with positive weight"):
            Est().fit(X, y, sample_weight=(y == 0).astype(float))
    # all rows parallel: the kernel estimators cannot resolve them and say so
    with pytest.warns(UserWarning, match="nearly parallel"):
        KernelLoFiClassifier(n_components=2).fit(np.ones((30, 3)), y)
    # an all-zero X has nothing to filter: fewer directions kept, with a warning
    with pytest.warns(UserWarning, match="Fewer directions than n_components"):
        pred = NeuralLoFiClassifier(width=16, n_components=4, head_width=16, random_state=0).fit(
            np.zeros((30, 3)), y).predict(X)
    assert np.all(np.isin(pred, [0, 1]))
