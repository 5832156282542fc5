"""Property-based tests (hypothesis) of every public estimator.

Over random shapes, dtypes, label sets and hyper-parameters: fitting valid
input never fails (a warning that fewer directions were kept is allowed),
outputs have the documented shapes and dtypes, are finite, predictions are
labels from ``classes_``, probabilities are rows summing to one, and two fits
with the same ``random_state`` give bit-identical outputs.

Every test is derandomized (a fixed example sequence, no example database) so
that CI is reproducible; widths and sample counts are kept small.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

ACTIVATIONS = ["relu", "erf", "tanh", "sigmoid", "identity"]


def _settings(max_examples):
    # The data are drawn from seeds, not element by element, so every example is
    # cheap to generate; too_slow only guards against slow *fits*, which the
    # first example of each test pays for (numba compilation), not generation.
    return settings(
        max_examples=max_examples, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


# --------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------
@st.composite
def features(draw, min_samples=8, max_samples=60, max_features=12):
    n = draw(st.integers(min_samples, max_samples))
    d = draw(st.integers(1, max_features))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([1.0, 1e-3, 1e3]))
    offset = draw(st.sampled_from([0.0, 5.0]))
    X = (np.random.RandomState(seed).standard_normal((n, d)) * scale + offset).astype(dtype)
    return X, seed


def _codes(n, k, seed):
    """Class codes 0..k-1, every class present."""
    codes = np.random.RandomState(seed + 1).randint(0, k, n)
    codes[:k] = np.arange(k)
    return codes


@st.composite
def class_labels(draw, n, seed):
    kind = draw(st.sampled_from(["binary", "multiclass", "string", "gapped", "bool"]))
    if kind == "bool":
        return _codes(n, 2, seed).astype(bool)
    k = 2 if kind == "binary" else draw(st.integers(2, 5))
    codes = _codes(n, k, seed)
    if kind == "string":
        return np.array(["cat", "dog", "emu", "fox", "gnu"])[codes]
    if kind == "gapped":
        return np.array([-7, 0, 3, 100, 2**40])[codes]
    return codes


@st.composite
def continuous_targets(draw, n, seed):
    n_outputs = draw(st.sampled_from([None, 1, 2, 3]))
    rng = np.random.RandomState(seed + 2)
    if n_outputs is None:
        return rng.standard_normal(n)
    return rng.standard_normal((n, n_outputs))


@st.composite
def stack_params(draw, min_layers=0):
    return dict(
        n_layers=draw(st.integers(min_layers, 2)),
        width=draw(st.integers(4, 64)),
        degree=draw(st.sampled_from([None, 1, 2, 3, 4])),
        activation=draw(st.sampled_from(ACTIVATIONS)),
        random_state=draw(st.integers(0, 1000)),
    )


def _fit(est, X, y):
    with warnings.catch_warnings():
        # "Fewer directions than n_components were kept" and the kernel estimators'
        # "nearly parallel rows" are legitimate on some random small problems
        warnings.filterwarnings("ignore", message="Fewer directions", category=UserWarning)
        warnings.filterwarnings("ignore", message="The rows of X are nearly parallel", category=UserWarning)
        return est.fit(X, y)


def _identical(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


# --------------------------------------------------------------------------------------
# Shared checks
# --------------------------------------------------------------------------------------
def _check_classifier(make, X, y, out_dtype):
    clf = _fit(make(), X, y)
    classes = np.unique(y)
    np.testing.assert_array_equal(clf.classes_, classes)
    n, k = len(y), classes.size

    pred = clf.predict(X)
    assert pred.shape == (n,)
    assert pred.dtype == clf.classes_.dtype
    assert np.all(np.isin(pred, clf.classes_))

    scores = clf.decision_function(X)
    assert scores.shape == ((n,) if k == 2 else (n, k))
    assert scores.dtype == out_dtype
    assert np.all(np.isfinite(scores))

    proba = clf.predict_proba(X)
    assert proba.shape == (n, k)
    assert proba.dtype == out_dtype
    assert np.all(np.isfinite(proba))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=10 * np.finfo(out_dtype).eps * k)
    # argmax of the probabilities is the prediction wherever the top two are distinct
    top = np.sort(proba, axis=1)
    clear = top[:, -1] - top[:, -2] > 100 * np.finfo(out_dtype).eps
    np.testing.assert_array_equal(clf.classes_[np.argmax(proba, axis=1)][clear], pred[clear])

    # same random_state, same data: bit-identical outputs
    again = _fit(make(), X, y)
    _identical(again.decision_function(X), scores)
    _identical(again.predict_proba(X), proba)
    _identical(again.predict(X), pred)


def _check_regressor(make, X, y, out_dtype):
    reg = _fit(make(), X, y)
    pred = reg.predict(X)
    assert pred.shape == y.shape
    assert pred.dtype == out_dtype
    assert np.all(np.isfinite(pred))
    _identical(_fit(make(), X, y).predict(X), pred)


# --------------------------------------------------------------------------------------
# Finite-width predictors
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("Est", [NeuralLoFiClassifier, RandomFeatureBaselineClassifier])
@_settings(60)
@given(data=st.data())
def test_finite_classifiers(Est, data):
    X, seed = data.draw(features())
    y = data.draw(class_labels(len(X), seed))
    params = data.draw(stack_params())
    params["head_width"] = data.draw(st.sampled_from([0, 8, 32]))
    if Est is NeuralLoFiClassifier:
        params["n_components"] = data.draw(st.integers(1, 8))
    _check_classifier(lambda: Est(**params), X, y, X.dtype)


@pytest.mark.parametrize("Est", [NeuralLoFiRegressor, RandomFeatureBaselineRegressor])
@_settings(60)
@given(data=st.data())
def test_finite_regressors(Est, data):
    X, seed = data.draw(features())
    y = data.draw(continuous_targets(len(X), seed))
    params = data.draw(stack_params())
    params["head_width"] = data.draw(st.sampled_from([0, 8, 32]))
    if Est is NeuralLoFiRegressor:
        params["n_components"] = data.draw(st.integers(1, 8))
    _check_regressor(lambda: Est(**params), X, y, X.dtype)


# --------------------------------------------------------------------------------------
# Transformers
# --------------------------------------------------------------------------------------
@_settings(60)
@given(data=st.data())
def test_lofi_transformer(data):
    X, seed = data.draw(features())
    regression = data.draw(st.booleans())
    y = data.draw(continuous_targets(len(X), seed) if regression else class_labels(len(X), seed))
    params = data.draw(stack_params(min_layers=1))
    n_components = data.draw(st.integers(1, 8))
    make = lambda: LoFiTransformer(n_components=n_components, **params)  # noqa: E731

    lofi = _fit(make(), X, y)
    assert lofi.n_components_.shape == (params["n_layers"],)
    assert np.all((lofi.n_components_ >= 1) & (lofi.n_components_ <= n_components))
    Xt = lofi.transform(X)
    assert Xt.shape == (len(X), lofi.n_components_[-1])
    assert Xt.dtype == X.dtype
    assert np.all(np.isfinite(Xt))
    assert len(lofi.get_feature_names_out()) == Xt.shape[1]
    if regression:
        assert lofi.classes_ is None
    else:
        np.testing.assert_array_equal(lofi.classes_, np.unique(y))
    _identical(_fit(make(), X, y).transform(X), Xt)
    # fit_transform is documented as fit(X, y).transform(X) without lifting twice
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Fewer directions", category=UserWarning)
        Xft = make().fit_transform(X, y)
    tol = 1e-4 if X.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(Xft, Xt, rtol=tol, atol=tol * max(1.0, np.abs(Xt).max()))


@st.composite
def images(draw):
    h, w, c = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 3))
    n = draw(st.integers(8, 40))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**31 - 1))
    X = np.random.RandomState(seed).standard_normal((n, h * w * c)).astype(dtype)
    return X, (h, w, c), seed


@_settings(60)
@given(data=st.data())
def test_conv_lofi_transformer(data):
    X, shape, seed = data.draw(images())
    regression = data.draw(st.booleans())
    y = data.draw(continuous_targets(len(X), seed) if regression else class_labels(len(X), seed))
    params = dict(
        image_shape=shape,
        patch_size=data.draw(st.integers(1, 4)),
        stride=data.draw(st.integers(1, 2)),
        padding=data.draw(st.sampled_from(["same", "valid"])),
        pool=data.draw(st.integers(1, 2)),
        operator=data.draw(st.sampled_from(["signed", "plain"])),
        width=data.draw(st.integers(4, 32)),
        n_components=data.draw(st.integers(1, 8)),
        degree=data.draw(st.sampled_from([None, 1, 2, 3, 4])),
        activation=data.draw(st.sampled_from(ACTIVATIONS)),
        random_state=data.draw(st.integers(0, 1000)),
    )
    conv = _fit(ConvLoFiTransformer(**params), X, y)
    assert 1 <= conv.n_components_ <= params["n_components"]
    assert conv.image_shape_ == shape
    assert conv.output_shape_[2] == conv.n_components_
    Xt = conv.transform(X)
    assert Xt.shape == (len(X), int(np.prod(conv.output_shape_)))
    assert Xt.dtype == X.dtype
    assert np.all(np.isfinite(Xt))
    _identical(_fit(ConvLoFiTransformer(**params), X, y).transform(X), Xt)


# --------------------------------------------------------------------------------------
# Infinite-width (kernel) predictors: O(n^3), so small n
# --------------------------------------------------------------------------------------
def _kernel_params(data, Est):
    params = dict(
        n_layers=data.draw(st.integers(0, 2)),
        degree=data.draw(st.sampled_from([None, 1, 2, 3, 4])),
        activation=data.draw(st.sampled_from(ACTIVATIONS)),
        head=data.draw(st.booleans()),
    )
    if Est in (KernelLoFiClassifier, KernelLoFiRegressor):
        params["n_components"] = data.draw(st.integers(1, 8))
        params["random_state"] = data.draw(st.integers(0, 1000))
    return params


@pytest.mark.parametrize("Est", [KernelLoFiClassifier, DeepNNGPClassifier])
@_settings(25)
@given(data=st.data())
def test_kernel_classifiers(Est, data):
    X, seed = data.draw(features(max_samples=30))
    y = data.draw(class_labels(len(X), seed))
    params = _kernel_params(data, Est)
    # the kernels run in float64, the outputs come back in the input's dtype
    _check_classifier(lambda: Est(**params), X, y, X.dtype)


@pytest.mark.parametrize("Est", [KernelLoFiRegressor, DeepNNGPRegressor])
@_settings(25)
@given(data=st.data())
def test_kernel_regressors(Est, data):
    X, seed = data.draw(features(max_samples=30))
    y = data.draw(continuous_targets(len(X), seed))
    params = _kernel_params(data, Est)
    _check_regressor(lambda: Est(**params), X, y, X.dtype)
