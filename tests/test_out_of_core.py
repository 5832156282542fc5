"""Out-of-core fits of dask arrays on a two-worker LocalCluster equal the in-memory fits.

The fit of a row-chunked dask array runs every pass over the rows as one task
per chunk on the workers and sums the chunks' products in a tree
(``sklearn_lofi._distributed``). Only the order of the floating-point sums
differs from the in-memory fit, so in float64 the fitted directions,
eigenvalues, readout and predictions agree to rounding: the tests ask for a
relative difference of at most 1e-9 (measured: 1e-15 to 1e-12). In float32
the tolerance is 1e-3 of the largest value (measured: up to 5e-4).
"""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.preprocessing import StandardScaler

from sklearn_lofi import (
    KernelLoFiClassifier,
    LoFiTransformer,
    NeuralLoFiClassifier,
    NeuralLoFiRegressor,
    RandomFeatureBaselineRegressor,
)

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.timeout(300)

RTOL = 1e-9


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  host="127.0.0.1") as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def assert_close(actual, expected, rtol=RTOL):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * max(np.max(np.abs(expected)), 1e-300))


def on_workers_only(X, chunks):
    """``X`` as a dask array whose chunks can be computed on a worker only.

    A chunk computed on the client (the fit gathering X) raises ValueError("No worker found").
    """

    def check_on_worker(block):
        distributed.get_worker()
        return block

    return da.from_array(X, chunks=(chunks, -1)).map_blocks(check_on_worker, meta=np.empty((0, 0), X.dtype))


def assert_same_layers(lazy, eager):
    for name in ("normalizers_", "eigenvalues_", "components_", "random_weights_"):
        for a, b in zip(getattr(lazy, name), getattr(eager, name)):
            assert_close(a, b)
    np.testing.assert_array_equal(lazy.n_components_, eager.n_components_)
    assert lazy._fit_eig_solvers == eager._fit_eig_solvers


@pytest.mark.parametrize("eig_solver", ["dense", "arpack", "randomized"])
def test_classifier_fit_equals_in_memory(client, cancer, eig_solver):
    X, y = cancer
    weights = np.random.RandomState(0).uniform(0.5, 2.0, X.shape[0])
    params = dict(n_layers=2, width=[300, 200], n_components=[12, 6], head_width=256, eig_solver=eig_solver,
                  random_state=0)
    eager = NeuralLoFiClassifier(**params).fit(X, y, sample_weight=weights)
    # uneven chunks, X never computed on the client, y a dask array too
    lazy = NeuralLoFiClassifier(**params).fit(on_workers_only(X, 97), da.from_array(y, chunks=97),
                                              sample_weight=weights)
    assert_same_layers(lazy, eager)
    assert lazy.alpha_ == eager.alpha_
    assert_close(lazy.loo_scores_, eager.loo_scores_)
    assert_close(lazy.coef_, eager.coef_)
    assert_close(lazy.temperature_, eager.temperature_)
    scores = lazy.decision_function(on_workers_only(X, 150))
    assert isinstance(scores, da.Array) and scores.chunks == ((150, 150, 150, 119),)
    assert_close(scores.compute(), eager.decision_function(X))


def test_multiclass_grouped_labels_and_lazy_predictions(client, digits):
    X, y = digits
    params = dict(n_layers=2, width=256, n_components=[20, 10], head_width=300, random_state=1)
    eager = NeuralLoFiClassifier(**params).fit(X, y)
    X_lazy = on_workers_only(X, 128)
    lazy = NeuralLoFiClassifier(**params).fit(X_lazy, y)
    assert_same_layers(lazy, eager)
    proba = lazy.predict_proba(X_lazy)
    labels = lazy.predict(X_lazy)
    assert isinstance(proba, da.Array) and isinstance(labels, da.Array)
    assert proba.shape == (600, 10) and labels.dtype == eager.classes_.dtype
    assert_close(proba.compute(), eager.predict_proba(X))
    assert_close(lazy.predict_log_proba(X_lazy).compute(), eager.predict_log_proba(X))
    np.testing.assert_array_equal(labels.compute(), eager.predict(X))


def test_regressor_and_transformer_equal_in_memory(client):
    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, np.sin(X[:, 2] * 10)])  # two outputs: vector labels
    params = dict(width=256, n_components=8, random_state=2)
    eager = NeuralLoFiRegressor(head_width=200, **params).fit(X, Y)
    lazy = NeuralLoFiRegressor(head_width=200, **params).fit(on_workers_only(X, 100), Y)
    assert_same_layers(lazy, eager)
    prediction = lazy.predict(on_workers_only(X, 100))
    assert prediction.shape == (X.shape[0], 2)
    assert_close(prediction.compute(), eager.predict(X))

    transformer = LoFiTransformer(**params)
    expected = transformer.fit_transform(X, y)
    lazy_features = transformer.fit_transform(on_workers_only(X, 100), y)
    assert isinstance(lazy_features, da.Array) and lazy_features.shape == expected.shape
    assert_close(lazy_features.compute(), expected)
    assert_close(transformer.transform(on_workers_only(X, 50)).compute(), expected)


def test_lazy_baseline_equals_in_memory(client):
    X, y = load_diabetes(return_X_y=True)
    params = dict(n_layers=2, width=128, head_width=300, random_state=3)
    eager = RandomFeatureBaselineRegressor(**params).fit(X, y)
    lazy = RandomFeatureBaselineRegressor(**params).fit(on_workers_only(X, 111), y)
    assert_close(lazy.coef_, eager.coef_)
    assert_close(lazy.predict(on_workers_only(X, 200)).compute(), eager.predict(X))


def test_float32_within_stated_tolerance(client, digits):
    X, y = digits
    X = X.astype(np.float32)
    params = dict(width=256, n_components=16, head_width=512, random_state=0)
    eager = NeuralLoFiClassifier(**params).fit(X, y)
    lazy = NeuralLoFiClassifier(**params).fit(on_workers_only(X, 128), y)
    proba = lazy.predict_proba(on_workers_only(X, 128)).compute()
    assert proba.dtype == np.float32
    assert_close(proba, eager.predict_proba(X), rtol=1e-3)


def test_out_of_core_without_a_cluster():
    # no Client: dask's threaded scheduler runs the same tasks in this process
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = dict(width=200, n_components=8, head_width=200, random_state=4)
    eager = NeuralLoFiClassifier(**params).fit(X, y)
    with __import__("dask").config.set(scheduler="threads"):
        lazy = NeuralLoFiClassifier(**params).fit(da.from_array(X, chunks=200), y)
        assert_close(lazy.decision_function(da.from_array(X, chunks=100)).compute(), eager.decision_function(X))


def test_bad_dask_input_is_named_and_fits_nothing(client, cancer):
    X, y = cancer
    model = NeuralLoFiClassifier(width=64, n_components=4, head_width=64, random_state=0)
    with_nan = X.copy()
    with_nan[300, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.fit(da.from_array(with_nan, chunks=100), y)
    assert not hasattr(model, "coef_")
    unknown = da.from_array(X, chunks=100)
    unknown = unknown[unknown[:, 0] > -100]  # boolean indexing leaves the chunk sizes unknown
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        model.fit(unknown, y)
    with pytest.raises(ValueError, match="2-D"):
        model.fit(da.from_array(X[:, 0], chunks=100), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.fit(da.from_array(X, chunks=100), y[:-1])
    with pytest.raises(ValueError, match="only one class"):
        model.fit(da.from_array(X, chunks=100), np.zeros(X.shape[0]))
    with pytest.raises(ValueError, match="numeric"):
        model.fit(da.from_array(X.astype(str), chunks=100), y)
    model.fit(da.from_array(X, chunks=100), y)
    fitted = dict(vars(model))
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.fit(da.from_array(with_nan, chunks=100), y)
    assert vars(model).keys() == fitted.keys() and model.coef_ is fitted["coef_"]  # the previous fit is kept
    with pytest.raises(ValueError, match="X has 29 features, but NeuralLoFiClassifier is expecting 30"):
        model.predict(da.from_array(X[:, 1:], chunks=100))
    with pytest.raises(ValueError, match="2-D dask array X; got 1 dimension"):
        model.predict_proba(da.from_array(X[:, 0], chunks=100))
    with pytest.raises(ValueError, match="numeric dask array X; got dtype <U"):
        model.decision_function(da.from_array(X.astype(str), chunks=100))
    with pytest.raises(ValueError, match="real-valued numeric dask array X; got dtype complex128"):
        model.predict(da.from_array(X + 1j, chunks=100))


def test_other_dask_collections_are_refused_not_computed(client, cancer):
    # np.asarray would compute a dask DataFrame into this process: the very thing
    # an out-of-core fit is for avoiding
    X, y = cancer
    model = NeuralLoFiClassifier(width=32, n_components=2, head_width=32, random_state=0)
    collections = [__import__("dask").delayed(X)]
    try:
        import dask.dataframe as dd
        import pandas as pd
    except ImportError:  # the dataframe extra of dask (pandas, pyarrow) is not ours
        pass
    else:
        collections.append(dd.from_pandas(pd.DataFrame(X), npartitions=3))
    for collection in collections:
        with pytest.raises(TypeError, match=rf"takes a dask array, not a dask {type(collection).__name__}.*"
                                            r"to_dask_array\(lengths=True\)"):
            model.fit(collection, y)
        assert not hasattr(model, "n_features_in_")
    model.fit(X, y)
    for collection in collections:
        with pytest.raises(TypeError, match="takes a dask array"):
            model.predict(collection)


def test_refit_on_a_dask_array_forgets_the_feature_names_of_a_dataframe_fit(client, cancer):
    pd = pytest.importorskip("pandas")
    X, y = cancer
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = NeuralLoFiClassifier(width=32, n_components=2, head_width=32, random_state=0).fit(frame, y)
    assert list(model.feature_names_in_) == list(frame.columns)
    model.fit(da.from_array(X, chunks=100), y)
    assert not hasattr(model, "feature_names_in_") and model.n_features_in_ == X.shape[1]


def test_kernel_estimators_compute_dask_input_in_memory(client, cancer):
    # the n x n kernel form has no out-of-core fit: a dask X is computed, as by scikit-learn's own estimators
    X, y = cancer
    X, y = X[:200], y[:200]
    expected = KernelLoFiClassifier(n_components=4, random_state=0).fit(X, y).decision_function(X)
    model = KernelLoFiClassifier(n_components=4, random_state=0).fit(da.from_array(X, chunks=50), y)
    scores = model.decision_function(da.from_array(X, chunks=50))
    assert isinstance(scores, np.ndarray)
    assert_close(scores, expected)


def _exit_at_call(block, counter, call):
    # Every chunk read adds a byte to ``counter``; the read that makes it ``call``
    # bytes long ends its worker process, as the nanny ends a worker beyond its
    # memory limit (it then starts a new one).
    import os

    with open(counter, "ab") as handle:
        handle.write(b".")
    if os.path.getsize(counter) == call:
        os._exit(1)
    return block


def test_fit_survives_a_worker_lost_during_a_pass(client, cancer, tmp_path):
    # The labels and weights a fit scatters have no task to recompute them: the
    # worker that dies takes its share with it. The pass is built again and they
    # are scattered anew; the result is the fit of an undisturbed cluster.
    X, y = cancer
    params = dict(width=64, n_components=4, head_width=64, random_state=0)
    expected = NeuralLoFiClassifier(**params).fit(X, y).decision_function(X)
    n_chunks = 6
    counter = tmp_path / "reads"
    lazy = da.from_array(X, chunks=(-(-X.shape[0] // n_chunks), -1))
    # the finite check reads every chunk once; the second pass (the first layer's
    # normalisation) sends the weights to the workers: a worker dies in its middle
    dying = lazy.map_blocks(_exit_at_call, str(counter), n_chunks + 3, meta=np.empty((0, 0), X.dtype))
    model = NeuralLoFiClassifier(**params).fit(dying, y)
    assert counter.stat().st_size > n_chunks + 3  # the worker did die, and the fit went on
    assert_close(model.decision_function(X), expected)
    client.wait_for_workers(2, timeout=60)  # the nanny's new worker, for the tests after this one


def test_a_fit_that_keeps_losing_its_scattered_data_stops_with_a_clear_error():
    from distributed.client import FutureCancelledError

    from sklearn_lofi._distributed import DaskRows

    attempts = []

    def lost_again():
        attempts.append(1)
        raise FutureCancelledError("ndarray-0", "lost dependencies")

    rows = DaskRows(da.from_array(np.ones((4, 2)), chunks=2))
    with pytest.raises(RuntimeError, match="lost data of this fit 3 times in a row.*memory limit"):
        rows._run(lost_again)
    assert len(attempts) == 3
