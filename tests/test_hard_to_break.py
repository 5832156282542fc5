"""Every public estimator against bad input, failed fits, persistence and parallel search.

The cases are those of the project's hard-to-break issue and of the bug-case log
(BR-xx ids in the comments), run over all ten public estimators wherever they apply.
"""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import sklearn_lofi
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

timeout = pytest.mark.timeout  # pytest-timeout is in the test extra (and pyproject's timeout setting)

N, D = 60, 16  # 16 features: 4 x 4 images for the convolutional transformer
MAKERS = {
    "LoFiTransformer": lambda: LoFiTransformer(width=16, n_components=2, random_state=0),
    "ConvLoFiTransformer": lambda: ConvLoFiTransformer(patch_size=2, width=8, n_components=2, random_state=0),
    "NeuralLoFiClassifier": lambda: NeuralLoFiClassifier(width=16, n_components=2, head_width=16, random_state=0),
    "NeuralLoFiRegressor": lambda: NeuralLoFiRegressor(width=16, n_components=2, head_width=16, random_state=0),
    "RandomFeatureBaselineClassifier": lambda: RandomFeatureBaselineClassifier(width=16, head_width=16,
                                                                               random_state=0),
    "RandomFeatureBaselineRegressor": lambda: RandomFeatureBaselineRegressor(width=16, head_width=16,
                                                                             random_state=0),
    "KernelLoFiClassifier": lambda: KernelLoFiClassifier(n_components=2, random_state=0),
    "KernelLoFiRegressor": lambda: KernelLoFiRegressor(n_components=2, random_state=0),
    "DeepNNGPClassifier": lambda: DeepNNGPClassifier(),
    "DeepNNGPRegressor": lambda: DeepNNGPRegressor(),
}
NAMES = sorted(MAKERS)
REGRESSORS = [n for n in NAMES if n.endswith("Regressor")]
CLASSIFIERS = [n for n in NAMES if n.endswith("Classifier")]
TRANSFORMERS = ["ConvLoFiTransformer", "LoFiTransformer"]
LABELLED = CLASSIFIERS + TRANSFORMERS  # estimators that take class labels


def test_every_public_estimator_is_covered():
    assert set(NAMES) == {name for name in sklearn_lofi.__all__ if name[0].isupper()}


def _data(name, n=N, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, D))
    y = X[:, 0] + 0.5 * X[:, 1] ** 2 if name in REGRESSORS else (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def _outputs(est, X):
    """Every numeric output of a fitted estimator, by method name."""
    if hasattr(est, "transform"):
        return {"transform": est.transform(X)}
    if hasattr(est, "predict_proba"):
        return {"decision_function": est.decision_function(X), "predict_proba": est.predict_proba(X)}
    return {"predict": est.predict(X)}


def _main_output(est, X):
    return next(iter(_outputs(est, X).values()))


def _assert_same_outputs(a, b, exact=True, **tol):
    assert a.keys() == b.keys()
    for key in a:
        if exact:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            np.testing.assert_allclose(a[key], b[key], err_msg=key, **tol)


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return {name: MAKERS[name]().fit(*_data(name)) for name in NAMES}


# --------------------------------------------------------------------------------------
# Bad X at fit and at predict (BR-15 and the bad-input classes of the issue)
# --------------------------------------------------------------------------------------
def _with(X, row, col, value):
    X = X.copy()
    X[row, col] = value
    return X


BAD_X = {
    "nan": (lambda X: _with(X, 3, 2, np.nan), ValueError, "Input X contains NaN"),
    "inf": (lambda X: _with(X, 3, 2, np.inf), ValueError, "Input X contains infinity"),
    "empty": (lambda X: X[:0], ValueError, "0 sample"),
    "one-dimensional": (lambda X: X[:, 0] if X.shape[0] > 1 else X[0], ValueError, "Expected 2D array"),
    "complex": (lambda X: X + 1j, ValueError, "Complex data not supported"),
    "object-strings": (lambda X: np.full(X.shape, "a", dtype=object), ValueError, "could not convert string"),
    "sparse": (lambda X: sp.csr_matrix(X), TypeError, "dense data is required"),
}


@pytest.mark.parametrize("case", sorted(BAD_X))
@pytest.mark.parametrize("name", NAMES)
def test_bad_X_at_fit_is_named(name, case):
    X, y = _data(name)
    make_bad, error, message = BAD_X[case]
    est = MAKERS[name]()
    with pytest.raises(error, match=message):
        est.fit(make_bad(X), y)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("name", NAMES)
def test_fit_needs_two_samples_and_numeric_object_arrays_are_accepted(name, fitted):
    X, y = _data(name)
    with pytest.raises(ValueError, match="1 sample.*minimum of 2 is required"):
        MAKERS[name]().fit(X[:1], y[:1])
    # object arrays of numbers are converted, exactly like the float array
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = MAKERS[name]().fit(X.astype(object), y)
    _assert_same_outputs(_outputs(est, X), _outputs(fitted[name], X))


@pytest.mark.parametrize("case", sorted(BAD_X) + ["wrong-columns"])
@pytest.mark.parametrize("name", NAMES)
def test_bad_X_at_predict_is_named(name, case, fitted):
    X, _ = _data(name, seed=1)
    if case == "wrong-columns":
        make_bad, error, message = (lambda X: X[:, :-1], ValueError, f"has {D - 1} features, but .* is "
                                    f"expecting {D} features")
    else:
        make_bad, error, message = BAD_X[case]
        message = message.replace("0 sample", "0 sample.*minimum of 1")
    est = fitted[name]
    for method in _outputs(est, X):
        with pytest.raises(error, match=message):
            getattr(est, method)(make_bad(X))


@pytest.mark.parametrize("name", NAMES)
def test_dataframe_columns_reordered_at_predict_are_rejected(name):
    pd = pytest.importorskip("pandas")
    X, y = _data(name)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(D)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = MAKERS[name]().fit(frame, y)
    np.testing.assert_array_equal(est.feature_names_in_, frame.columns)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        _main_output(est, frame[frame.columns[::-1]])
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        _main_output(est, frame.rename(columns={"x0": "other"}))
    # the same frame gives exactly what its array gives
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "X does not have valid feature names"
        _assert_same_outputs(_outputs(est, frame), _outputs(est, X))


@pytest.mark.parametrize("name", NAMES)
def test_memory_layout_does_not_change_the_model(name, fitted):
    # A DataFrame's values are Fortran-ordered; the kernel estimators' BLAS products
    # used to round differently for them (differences around 1e-15 at fit and predict).
    X, y = _data(name)
    est = MAKERS[name]().fit(np.asfortranarray(X), y)
    _assert_same_outputs(_outputs(est, X), _outputs(fitted[name], X))
    _assert_same_outputs(_outputs(fitted[name], np.asfortranarray(X)), _outputs(fitted[name], X))
    _assert_same_outputs(_outputs(fitted[name], X[::-1][::-1]), _outputs(fitted[name], X))


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_pandas_output_has_the_feature_names(name):
    # bug-cases BR-09 for both transformers (LoFiTransformer's pipeline case is in test_estimators)
    pd = pytest.importorskip("pandas")
    X, y = _data(name)
    est = MAKERS[name]().set_output(transform="pandas")
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(D)])
    Z = est.fit_transform(frame, y)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == list(est.get_feature_names_out())
    # fit_transform does not lift twice, so it rounds differently from fit().transform()
    np.testing.assert_allclose(Z.to_numpy(), est.transform(frame).to_numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(est.transform(frame).to_numpy(), est.set_output(transform="default").transform(X))


# --------------------------------------------------------------------------------------
# sample_weight and labels
# --------------------------------------------------------------------------------------
BAD_WEIGHTS = {
    "negative": (lambda w: np.r_[-1.0, w[1:]], "Negative values in data passed to `sample_weight`"),
    "nan": (lambda w: np.r_[np.nan, w[1:]], "sample_weight contains NaN"),
    "inf": (lambda w: np.r_[np.inf, w[1:]], "sample_weight contains infinity"),
    "all-zero": (lambda w: 0 * w, "at least one non-zero"),
    "wrong-length": (lambda w: w[:-1], r"sample_weight.shape == \(59,\), expected \(60,\)"),
    "two-dimensional": (lambda w: w[:, None], "Sample weights must be 1D array or scalar"),
    "strings": (lambda w: np.array(["a"] * len(w)), "could not convert string"),
}


@pytest.mark.parametrize("case", sorted(BAD_WEIGHTS))
@pytest.mark.parametrize("name", NAMES)
def test_bad_sample_weight_is_named(name, case):
    X, y = _data(name)
    make_bad, message = BAD_WEIGHTS[case]
    weights = make_bad(np.ones(N))
    with pytest.raises(ValueError, match=message):
        MAKERS[name]().fit(X, y, sample_weight=weights)


@pytest.mark.parametrize("name", LABELLED)
def test_one_class_is_a_clear_error_also_when_the_other_has_zero_weight(name):
    X, y = _data(name)
    est = MAKERS[name]()
    with pytest.raises(ValueError, match="only one class: 'b'"):
        est.fit(X, np.full(N, "b"))
    weights = (y == 1).astype(float)  # class 0 is there, but weightless
    with pytest.raises(ValueError, match="at least 2 classes with positive weight.*only one class: 1"):
        est.fit(X, y, sample_weight=weights)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("name", REGRESSORS)
def test_constant_target_is_predicted(name):
    X, _ = _data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        pred = MAKERS[name]().fit(X, np.full(N, 3.5)).predict(_data(name, seed=1)[0])
    np.testing.assert_allclose(pred, 3.5, rtol=1e-6)


@pytest.mark.parametrize("name", LABELLED)
def test_labels_mixing_strings_and_numbers_are_a_clear_error(name):
    X, _ = _data(name)
    with pytest.raises(TypeError, match="labels of one type.*mixes number and string"):
        MAKERS[name]().fit(X, np.array(["a", 1] * (N // 2), dtype=object))


@pytest.mark.parametrize(
    "labels", [np.array(["cat", "dog"]), np.array([-3, 10]), np.array([False, True]), np.array([1, 4, 9])],
    ids=["strings", "gapped", "boolean", "three-gapped"],
)
@pytest.mark.parametrize("name", LABELLED)
def test_labels_of_any_type(name, labels):
    # bug-cases BR-08 for every estimator that takes labels
    X, y = _data(name)
    codes = y if labels.size == 2 else np.digitize(X[:, 0], [-0.5, 0.5])
    est = MAKERS[name]().fit(X, labels[codes])
    np.testing.assert_array_equal(est.classes_, np.sort(labels))
    reference = MAKERS[name]().fit(X, codes)  # the same model as with codes 0..k-1
    _assert_same_outputs(_outputs(est, X), _outputs(reference, X))
    if hasattr(est, "predict"):
        pred = est.predict(X)
        assert pred.dtype == labels.dtype and set(pred) <= set(labels)


@pytest.mark.parametrize("name", LABELLED)
def test_column_of_labels_is_raveled_with_a_warning(name, fitted):
    X, y = _data(name)
    with pytest.warns(DataConversionWarning):
        est = MAKERS[name]().fit(X, y[:, None])
    _assert_same_outputs(_outputs(est, X), _outputs(fitted[name], X))


# --------------------------------------------------------------------------------------
# Invalid parameters: the message names the parameter (and its allowed values)
# --------------------------------------------------------------------------------------
BAD_PARAMS = [
    ("degree", 0, "'degree' parameter .* must be None or an int in the range \\[1, inf\\)"),
    ("activation", "swish", "'activation' parameter .* must be a str among"),
    ("n_layers", -1, "'n_layers' parameter .* must be an int in the range"),
    ("width", 0, "'width' parameter .* must be an int in the range \\[1, inf\\)"),
    ("width", [8.5], "Every entry of width must be an int >= 1|'width' parameter .* must be an int in the range"),
    ("n_components", 0, "'n_components' parameter .* must be an int in the range \\[1, inf\\)"),
    ("n_components", 2.0, "'n_components' parameter .* must be an int"),
    ("n_components", [2, 2, 2], "n_components has 3 entries but n_layers=1|'n_components' parameter .* must be an "
     "int in the range"),
    ("head_width", -1, "'head_width' parameter .* must be an int in the range \\[0, inf\\)"),
    ("head", "yes", "'head' parameter .* must be an instance of 'bool'"),
    ("alpha", -1.0, "'alpha' parameter .* must be None, a float in the range \\[0.0, inf\\)"),
    ("alpha", np.nan, "'alpha' parameter .* must be None, a float in the range"),
    ("alpha", [1.0, np.nan], "alpha must be non-negative and finite"),
    ("alpha", [], "alpha must be a number or a 1-D sequence of at least one candidate"),
    ("alpha", [[1.0], [2.0]], "alpha must be a number or a 1-D sequence of at least one candidate"),
    ("selection", "largest", "'selection' parameter .* must be a str among"),
    ("eig_solver", "lobpcg", "'eig_solver' parameter .* must be a str among"),
    ("label_centering", "yes", "'label_centering' parameter .* must be an instance of 'bool'"),
    ("target_type", "ordinal", "'target_type' parameter .* must be a str among"),
    ("random_state", "seed", "'random_state' parameter"),
    ("image_shape", (4.5, 4), "image_shape must be \\(height, width\\) or \\(height, width, channels\\)"),
    ("image_shape", "4x4", "'image_shape' parameter .* must be None or an array-like"),
    ("patch_size", 0, "'patch_size' parameter .* must be an int in the range \\[1, inf\\)"),
    ("stride", 0, "'stride' parameter .* must be an int in the range \\[1, inf\\)"),
    ("padding", "full", "'padding' parameter .* must be a str among"),
    ("pool", 0, "'pool' parameter .* must be an int in the range \\[1, inf\\)"),
    ("operator", "gram", "'operator' parameter .* must be a str among"),
]


@pytest.mark.parametrize("name", NAMES)
def test_invalid_parameters_are_named_at_fit(name, fitted):
    X, y = _data(name)
    params = MAKERS[name]().get_params()
    checked = 0
    for param, value, message in BAD_PARAMS:
        if param not in params:
            continue
        est = MAKERS[name]().set_params(**{param: value})  # set_params itself never validates
        with pytest.raises(ValueError, match=message):
            est.fit(X, y)
        # and a fitted estimator given the bad value stays as it was
        refit = pickle.loads(pickle.dumps(fitted[name])).set_params(**{param: value})
        before = _outputs(refit, X)
        with pytest.raises(ValueError, match=message):
            refit.fit(X, y)
        _assert_same_outputs(_outputs(refit, X), before)
        checked += 1
    assert checked >= 6


# --------------------------------------------------------------------------------------
# A failed fit leaves a fitted estimator unchanged and usable, a fresh one unfitted
# --------------------------------------------------------------------------------------
def _failing_data(name):
    """Data that passes input validation (and sets n_features_in_) but fails later in fit."""
    X, y = _data(name)
    X9 = X[:, :9]  # 3 x 3 images for the convolutional transformer
    if name in REGRESSORS:
        return {"alpha": [1.0, -1.0]}, X9, y
    return {}, X9, np.zeros(N, dtype=int)  # one class


@pytest.mark.parametrize("name", NAMES)
def test_a_failed_fit_leaves_the_estimator_as_it_was(name, fitted):
    X, y = _data(name, seed=1)
    changes, X_bad, y_bad = _failing_data(name)
    fresh = MAKERS[name]().set_params(**changes)
    with pytest.raises(ValueError):
        fresh.fit(X_bad, y_bad)
    assert not hasattr(fresh, "n_features_in_")
    with pytest.raises(NotFittedError):
        _main_output(fresh, X)

    est = pickle.loads(pickle.dumps(fitted[name]))
    before, state = _outputs(est, X), sorted(vars(est))
    for bad in ([X_bad, y_bad], [_with(X, 0, 0, np.nan), _data(name)[1]]):
        with pytest.raises(ValueError):
            est.set_params(**changes).fit(*bad)
        assert sorted(vars(est)) == state and est.n_features_in_ == D
        _assert_same_outputs(_outputs(est, X), before)
    if hasattr(est, "fit_transform"):
        with pytest.raises(ValueError):
            est.fit_transform(X_bad, y_bad)
        _assert_same_outputs(_outputs(est, X), before)
    # still usable: refitting with good data gives the original model again
    est.set_params(**MAKERS[name]().get_params()).fit(*_data(name))
    _assert_same_outputs(_outputs(est, X), before)


# --------------------------------------------------------------------------------------
# Numerics: row order, thread count, float32, scale, constant features
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_row_order_does_not_matter(name, fitted):
    # bug-cases BR-02: a fixed sign rule, so a permuted fit gives the same model
    X, y = _data(name)
    perm = np.random.RandomState(3).permutation(N)
    est = MAKERS[name]().fit(X[perm], y[perm])
    _assert_same_outputs(_outputs(est, X), _outputs(fitted[name], X), exact=False, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_n_jobs_does_not_change_the_model_and_the_global_rng_is_untouched(name, fitted):
    # bug-cases BR-17
    X, y = _data(name)
    state = np.random.get_state()[1].copy()
    est = MAKERS[name]().set_params(n_jobs=2).fit(X, y)
    assert np.array_equal(np.random.get_state()[1], state)
    _assert_same_outputs(_outputs(est, X), _outputs(fitted[name], X))


@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name, fitted):
    # bug-cases BR-05
    X, y = _data(name)
    est = MAKERS[name]().fit(X.astype(np.float32), y)
    out32, out64 = _outputs(est, X.astype(np.float32)), _outputs(fitted[name], X)
    for key in out32:
        assert out32[key].dtype == np.float32, key
    _assert_same_outputs(out32, out64, exact=False, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("scale", [1e-150, 1e200])
@pytest.mark.parametrize("name", NAMES)
def test_global_scale_of_the_input_does_not_matter(name, scale, fitted):
    # bug-cases BR-15: squared row norms of inputs near 1e200 overflow float64; the
    # RMS normalisation used to give up (normaliser 1.0) and the eigen-solver then
    # failed with a LAPACK LinAlgError.
    X, y = _data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        est = MAKERS[name]().fit(X * scale, y)
        out = _outputs(est, X * scale)
    for key in out:
        assert np.all(np.isfinite(out[key])), key
    if name not in TRANSFORMERS:  # the transformers' features carry the scale of the data (identity etc.)
        _assert_same_outputs(out, _outputs(fitted[name], X), exact=False, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_constant_and_zero_features(name):
    # bug-cases BR-06 for every estimator (NeuralLoFiClassifier's case is in test_estimators)
    X, y = _data(name)
    X[:, 5], X[:, 6] = 14.62, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # fewer directions than asked, nearly parallel rows
        for data in (X, np.ones_like(X), np.zeros_like(X)):
            out = _outputs(MAKERS[name]().fit(data, y), data)
            for key in out:
                assert np.all(np.isfinite(out[key])), key


# --------------------------------------------------------------------------------------
# Persistence in a fresh process (BR-10)
# --------------------------------------------------------------------------------------
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(sklearn_lofi.__file__)))


@timeout(300)
def test_pickle_and_joblib_round_trips_are_bit_identical_in_a_fresh_process(fitted, tmp_path):
    import joblib

    X, _ = _data("any", seed=2)
    np.save(tmp_path / "X.npy", X)
    expected = {}
    for name, est in fitted.items():
        with open(tmp_path / f"{name}.pkl", "wb") as handle:
            pickle.dump(est, handle)
        joblib.dump(est, tmp_path / f"{name}.joblib")
        for method, value in _outputs(est, X).items():
            expected[f"{name}.{method}"] = value
            # the in-process round trips, too
            np.testing.assert_array_equal(getattr(pickle.loads(pickle.dumps(est)), method)(X), value)
    code = textwrap.dedent(f"""
        import pickle, joblib, numpy as np
        folder = {str(tmp_path)!r}
        X = np.load(folder + "/X.npy")
        out = {{}}
        for name in {NAMES!r}:
            with open(f"{{folder}}/{{name}}.pkl", "rb") as handle:
                models = {{"pickle": pickle.load(handle), "joblib": joblib.load(f"{{folder}}/{{name}}.joblib")}}
            for how, model in models.items():
                for method in ("transform", "decision_function", "predict_proba", "predict"):
                    if hasattr(model, method):
                        out[f"{{how}}.{{name}}.{{method}}"] = getattr(model, method)(X)
        np.savez(folder + "/out.npz", **out)
        """)
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=240,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    out = np.load(tmp_path / "out.npz")
    for how in ("pickle", "joblib"):
        for key, value in expected.items():
            np.testing.assert_array_equal(out[f"{how}.{key}"], value, err_msg=f"{how}.{key}")
        # the classifiers' labels as well
        for name in CLASSIFIERS + REGRESSORS:
            np.testing.assert_array_equal(out[f"{how}.{name}.predict"], fitted[name].predict(X))


# --------------------------------------------------------------------------------------
# GridSearchCV under every joblib backend (BR-12, BR-17). test_runtime covers
# NeuralLoFiClassifier under loky and threading; here the multiprocessing backend,
# a kernel estimator and the convolutional transformer.
# --------------------------------------------------------------------------------------
def _search_kernel(n_jobs):
    X, y = _data("KernelLoFiClassifier", n=90)
    grid = {"n_components": [1, 3], "degree": [None, 2]}
    return GridSearchCV(KernelLoFiClassifier(random_state=0, n_jobs=n_jobs), grid, cv=3, n_jobs=n_jobs), X, y


def _search_conv(n_jobs):
    X, y = _data("ConvLoFiTransformer", n=90)
    pipe = make_pipeline(ConvLoFiTransformer(patch_size=2, width=8, random_state=0, n_jobs=n_jobs),
                         RidgeClassifier(alpha=1.0))
    grid = {"convlofitransformer__n_components": [1, 3], "convlofitransformer__pool": [1, 2]}
    return GridSearchCV(pipe, grid, cv=3, n_jobs=n_jobs), X, y


def _search_finite(n_jobs):
    X, y = _data("NeuralLoFiRegressor", n=90)
    grid = {"n_components": [1, 3], "degree": [None, 3]}
    est = NeuralLoFiRegressor(width=16, head_width=32, random_state=0, n_jobs=n_jobs)
    return GridSearchCV(est, grid, cv=3, n_jobs=n_jobs), X, y


SEARCHES = {"finite": _search_finite, "kernel": _search_kernel, "conv": _search_conv}
_SERIAL = {}


@timeout(180)
@pytest.mark.parametrize("backend", ["loky", "threading", "multiprocessing"])
@pytest.mark.parametrize("kind", sorted(SEARCHES))
def test_grid_search_in_parallel_matches_serial(kind, backend):
    from joblib import parallel_backend

    if kind not in _SERIAL:
        search, X, y = SEARCHES[kind](1)
        _SERIAL[kind] = search.fit(X, y).cv_results_
    serial = _SERIAL[kind]
    search, X, y = SEARCHES[kind](2)
    with parallel_backend(backend, n_jobs=2):
        parallel = search.fit(X, y).cv_results_
    for key in ("mean_test_score", "split0_test_score", "split1_test_score", "split2_test_score"):
        np.testing.assert_array_equal(parallel[key], serial[key], err_msg=key)
    assert parallel["params"] == serial["params"]


# --------------------------------------------------------------------------------------
# Gaps of the bug-case map, for the estimators added after the foundation
# --------------------------------------------------------------------------------------
def test_conv_too_many_components_are_clipped_with_a_warning():
    # BR-01: 4 x 4 images, 2 x 2 patches, width 3: the operator has rank at most 3
    X, y = _data("ConvLoFiTransformer")
    with pytest.warns(UserWarning, match="Fewer directions than n_components were kept"):
        conv = ConvLoFiTransformer(patch_size=2, width=3, n_components=10, random_state=0).fit(X, y)
    assert conv.n_components_ <= 3
    assert conv.components_.shape == (3, conv.n_components_)
    assert conv.transform(X).shape == (N, int(np.prod(conv.output_shape_)))


@pytest.mark.parametrize("name", ["KernelLoFiClassifier", "ConvLoFiTransformer", "LoFiTransformer"])
def test_swapping_the_two_classes_keeps_the_directions(name):
    # BR-04: the |eigenvalue| rule does not depend on which class is coded +1:
    # the kept eigenvalues change sign, the directions stay (up to their sign rule)
    X, y = _data(name)
    first = MAKERS[name]().fit(X, y)
    swapped = MAKERS[name]().fit(X, 1 - y)
    values = first.eigenvalues_[0] if name != "ConvLoFiTransformer" else first.eigenvalues_
    swapped_values = swapped.eigenvalues_[0] if name != "ConvLoFiTransformer" else swapped.eigenvalues_
    np.testing.assert_allclose(np.asarray(swapped_values), -np.asarray(values), rtol=1e-9, atol=1e-12)
    out, swapped_out = _main_output(first, X), _main_output(swapped, X)
    if name == "KernelLoFiClassifier":  # the readout flips with the coding: same predicted labels
        np.testing.assert_array_equal(first.predict(X), swapped.predict(X) * -1 + 1)
    else:
        np.testing.assert_allclose(np.abs(swapped_out), np.abs(out), rtol=1e-8, atol=1e-10)


@timeout(300)
def test_pickle_with_jit_disabled_for_every_estimator(tmp_path):
    # BR-10: fitted with numba's JIT off, pickled, then loaded and used with the JIT on:
    # nothing numba-specific is stored, and the compiled and pure-Python paths agree
    script = textwrap.dedent(
        f"""
        import pickle, sys
        import numpy as np
        sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
        from test_hard_to_break import MAKERS, NAMES, _data, _outputs
        models = {{}}
        for name in NAMES:
            X, y = _data(name, n=24)
            est = MAKERS[name]().fit(X, y)
            models[name] = (est, X, _outputs(est, X))
        with open({str(tmp_path / "models.pkl")!r}, "wb") as handle:
            pickle.dump(models, handle)
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=280,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "models.pkl", "rb") as handle:
        models = pickle.load(handle)
    assert sorted(models) == NAMES
    for name, (est, X, expected) in models.items():
        _assert_same_outputs(_outputs(est, X), expected, exact=False, rtol=1e-9, atol=1e-12)


@timeout(120)
@pytest.mark.parametrize("name", NAMES)
def test_fits_in_concurrent_threads_equal_fits_one_by_one(name):
    # BR-12 / BR-17: four fits at once in Python threads (sharing numba's threads)
    # give the models of four fits one after the other
    from concurrent.futures import ThreadPoolExecutor

    X, y = _data(name)

    def fit(seed):
        est = MAKERS[name]().set_params(random_state=seed) if "random_state" in MAKERS[name]().get_params() \
            else MAKERS[name]()
        return _outputs(est.fit(X, y), X)

    serial = [fit(seed) for seed in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(fit, range(4)))
    for one, other in zip(serial, threaded):
        _assert_same_outputs(other, one)
