"""Model selection on a two-worker Dask cluster: the very results of loky, the data scattered once.

Every public estimator is grid-searched under ``joblib.parallel_config(backend="dask",
scatter=[X, y])`` and under the local loky backend; the split scores must be equal
bit for bit. While the dask search runs, a scheduler plugin records every task the
scheduler hands to a worker (its dependencies and the pickled size of its spec), so
that the tests can tell whether the tasks read X from the broadcast key or carry it
themselves. The last tests check numba's thread budget inside a worker task
(``sklearn_lofi._threads.dask_worker_share``).
"""

import gc
import os
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")  # the distributed extra; in the test extra, so CI runs this

import cloudpickle  # noqa: E402  (a dependency of distributed)
import joblib  # noqa: E402
import numba  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from distributed.diagnostics.plugin import SchedulerPlugin  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_validate  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import sklearn_lofi  # noqa: E402
from sklearn_lofi import (  # noqa: E402
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
from sklearn_lofi._threads import dask_worker_share, effective_n_threads  # noqa: E402

# pytest-timeout is in the test extra: a hung cluster fails the test instead of blocking CI.
# The first test also pays for the cluster's start (a few seconds).
pytestmark = pytest.mark.timeout(120)

N_WORKERS = 2
RECORDER = "sklearn-lofi-task-recorder"


def _readout():
    return LogisticRegression(max_iter=2000)


# One small search per public estimator: (estimator, data set, grid of 4 candidates).
# The transformers feed a logistic readout, so that every classifier is scored by
# its log-loss: a continuous score, unlike the accuracy, changes with any bit of the model.
SEARCHES = {
    "LoFiTransformer": (
        lambda: make_pipeline(LoFiTransformer(width=16, n_components=2, random_state=0), _readout()),
        "classification", {"lofitransformer__n_components": [1, 3], "lofitransformer__degree": [None, 2]}),
    "ConvLoFiTransformer": (
        lambda: make_pipeline(ConvLoFiTransformer(image_shape=(8, 8), patch_size=3, width=8, random_state=0),
                              _readout()),
        "images", {"convlofitransformer__n_components": [2, 4], "convlofitransformer__pool": [2, 4]}),
    "NeuralLoFiClassifier": (
        lambda: NeuralLoFiClassifier(width=16, head_width=16, random_state=0),
        "classification", {"n_components": [1, 3], "degree": [None, 2]}),
    "NeuralLoFiRegressor": (
        lambda: NeuralLoFiRegressor(width=16, head_width=16, random_state=0),
        "regression", {"n_components": [1, 3], "degree": [None, 2]}),
    "RandomFeatureBaselineClassifier": (
        lambda: RandomFeatureBaselineClassifier(head_width=16, random_state=0),
        "classification", {"width": [8, 16], "degree": [None, 2]}),
    "RandomFeatureBaselineRegressor": (
        lambda: RandomFeatureBaselineRegressor(head_width=16, random_state=0),
        "regression", {"width": [8, 16], "degree": [None, 2]}),
    "KernelLoFiClassifier": (
        lambda: KernelLoFiClassifier(random_state=0),
        "classification", {"n_components": [1, 3], "alpha": [None, 1.0]}),
    "KernelLoFiRegressor": (
        lambda: KernelLoFiRegressor(random_state=0),
        "regression", {"n_components": [1, 3], "alpha": [None, 1.0]}),
    "DeepNNGPClassifier": (
        lambda: DeepNNGPClassifier(),
        "classification", {"n_layers": [1, 2], "alpha": [None, 1.0]}),
    "DeepNNGPRegressor": (
        lambda: DeepNNGPRegressor(),
        "regression", {"n_layers": [1, 2], "alpha": [None, 1.0]}),
}
NAMES = sorted(SEARCHES)
SCORING = {"classification": "neg_log_loss", "images": "neg_log_loss", "regression": "r2"}
CV = 2


def test_every_public_estimator_is_covered():
    assert set(NAMES) == {name for name in sklearn_lofi.__all__ if name[0].isupper()}


def _subsample(X, y, n):
    rows = np.random.RandomState(0).permutation(len(y))[:n]
    return np.ascontiguousarray(X[rows]), y[rows]


@pytest.fixture(scope="module")
def datasets():
    X, y = _subsample(*load_breast_cancer(return_X_y=True), 200)
    Xr, yr = _subsample(*load_diabetes(return_X_y=True), 300)
    images, labels = _subsample(*load_digits(return_X_y=True), 200)  # 8 x 8 images, flattened
    return {
        "classification": (StandardScaler().fit_transform(X), y),  # features over five orders of magnitude
        "regression": (StandardScaler().fit_transform(Xr), yr),
        "images": (images / 16.0, labels),
    }


# --------------------------------------------------------------------------------------
# The cluster, and what its scheduler saw
# --------------------------------------------------------------------------------------
class _TaskRecorder(SchedulerPlugin):
    """Dependencies and pickled size of every task the scheduler hands to a worker."""

    def __init__(self):
        self.tasks = {}

    async def start(self, scheduler):
        self.scheduler = scheduler

    def transition(self, key, start, finish, *args, **kwargs):
        if finish != "processing":
            return
        task = self.scheduler.tasks[key]
        try:
            spec_bytes = len(cloudpickle.dumps(task.run_spec))
        except Exception:  # reported as a failure by the test, never by the scheduler
            spec_bytes = None
        self.tasks[str(key)] = ({str(dep.key): dep.nbytes for dep in task.dependencies}, spec_bytes)


def _reset_recorder(dask_scheduler):
    dask_scheduler.plugins[RECORDER].tasks.clear()


def _recorded_tasks(dask_scheduler):
    return dict(dask_scheduler.plugins[RECORDER].tasks)


def _keys_and_nbytes(dask_scheduler):
    return {str(key): task.nbytes for key, task in dask_scheduler.tasks.items()}


@pytest.fixture(scope="module")
def client():
    # The scheduler's HTTP server starts even without a dashboard, on port 8787 unless told
    # otherwise, and warns when another cluster holds that port: a free port instead.
    with LocalCluster(n_workers=N_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1", scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster, \
            Client(cluster) as dask_client:
        dask_client.wait_for_workers(N_WORKERS, timeout=60)
        # The Active Memory Manager (on by default, every 2 s) drops the replicas of a
        # broadcast that no queued task needs; a worker then fetches X again from the
        # other one. Stopped, every worker keeps the copy the broadcast gave it, and
        # whether X was sent once to every worker does not depend on timing.
        dask_client.amm.stop()
        dask_client.register_plugin(_TaskRecorder(), name=RECORDER)
        yield dask_client


def _wait_until_the_cluster_is_empty(client, seconds=10.0):
    # joblib's dask backend and the Parallel call that used it form a reference cycle:
    # the scattered futures are released when the garbage collector breaks it
    gc.collect()
    deadline = time.monotonic() + seconds
    while (held := client.run_on_scheduler(_keys_and_nbytes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not held, f"the cluster still holds {held}"


def _under_dask(client, fit, X, y):
    """``fit(X, y)`` under joblib's dask backend with X and y scattered; what the scheduler saw."""
    _wait_until_the_cluster_is_empty(client)  # nothing of an earlier test may count as X
    with joblib.parallel_config(backend="dask", scatter=[X, y]):
        scattered = client.run_on_scheduler(_keys_and_nbytes)  # the broadcast at the context's start
        client.run_on_scheduler(_reset_recorder)
        result = fit(X, y)
        held = client.run_on_scheduler(_keys_and_nbytes)
        who_has = client.who_has()
        tasks = client.run_on_scheduler(_recorded_tasks)
    _wait_until_the_cluster_is_empty(client)
    return result, {"scattered": scattered, "held": held, "who_has": who_has, "tasks": tasks}


def _under_loky(fit, X, y):
    # One BLAS/OpenMP thread per loky worker, as the Dask nanny gives its one-thread
    # workers, on any machine (by default loky gives cpu_count // n_jobs). numba's
    # threads may still differ there (loky: this 1; a Dask task: its share of the
    # host), which changes no result: the kernels do not depend on their number.
    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        return fit(X, y)


def _broadcast_problems(client, X, seen):
    """After the search, exactly one key holds X's bytes, and every worker holds it."""
    large = sorted(key for key, nbytes in seen["held"].items() if nbytes >= X.nbytes)
    if len(large) != 1:
        return [f"{len(large)} keys of at least {X.nbytes} bytes on the cluster: {large}"]
    workers = set(client.scheduler_info()["workers"])
    holders = set(seen["who_has"].get(large[0], ()))
    return [] if holders == workers else [f"X is held by {sorted(holders)}, not by all of {sorted(workers)}"]


def _task_problems(X, seen):
    """Every task read X and y from the keys broadcast at the start, and none carried X itself.

    A task must depend on both scattered keys, on no other key as large as X (joblib
    scatters every other argument above 1 kB on its own, such as the training indices
    of a fold: those are allowed), and its pickled spec must be smaller than X.

    The count of :func:`_broadcast_problems` cannot fail when the tasks do not use the
    broadcast: that happens when the parallel_config context starts, whatever the
    tasks then do, and neither a copy of X that joblib scatters on its own (released
    when its Parallel call ends) nor a copy pickled into every task is a key on the
    cluster after the search.
    """
    problems = []
    scattered = sorted(seen["scattered"])
    batches = seen["tasks"]  # joblib's batches of calls: nothing else runs on the cluster meanwhile
    if len(scattered) != 2 or not batches:
        return [f"scattered {scattered}, recorded tasks {sorted(seen['tasks'])}"]
    for key, (dependencies, spec_bytes) in sorted(batches.items()):
        if not set(scattered) <= set(dependencies):
            problems.append(f"{key} depends on {sorted(dependencies)}, not on the scattered {scattered}")
        others = {dep: nbytes for dep, nbytes in dependencies.items() if dep not in scattered}
        if any(nbytes >= X.nbytes for nbytes in others.values()):
            problems.append(f"{key} depends on {others} besides the scattered {scattered}")
        if spec_bytes is None or spec_bytes >= X.nbytes:
            problems.append(f"{key} carries {spec_bytes} bytes, X has {X.nbytes}")
    return problems


def _assert_same_search(dask_search, loky_search):
    dask_results, loky_results = dask_search.cv_results_, loky_search.cv_results_
    assert dask_results["params"] == loky_results["params"]
    for key in [f"split{i}_test_score" for i in range(CV)] + ["mean_test_score", "rank_test_score"]:
        np.testing.assert_array_equal(dask_results[key], loky_results[key], err_msg=key)
    assert dask_search.best_params_ == loky_search.best_params_ or not dask_search.refit


# --------------------------------------------------------------------------------------
# Grid searches and cross-validation: dask == loky, X scattered once
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_grid_search_on_dask_equals_loky_and_uses_the_scattered_data(name, client, datasets):
    make, kind, grid = SEARCHES[name]
    X, y = datasets[kind]

    def search():
        return GridSearchCV(make(), grid, cv=CV, scoring=SCORING[kind], n_jobs=N_WORKERS)

    dask_search, seen = _under_dask(client, search().fit, X, y)
    loky_search = _under_loky(search().fit, X, y)
    _assert_same_search(dask_search, loky_search)
    assert np.all(np.isfinite(loky_search.cv_results_["mean_test_score"]))
    assert _broadcast_problems(client, X, seen) == []
    assert _task_problems(X, seen) == []


def test_cross_validate_on_dask_equals_loky(client, datasets):
    X, y = datasets["classification"]

    def fit(X, y):
        return cross_validate(NeuralLoFiClassifier(width=16, n_components=3, head_width=16, random_state=0), X, y,
                              cv=CV, scoring=("neg_log_loss", "accuracy"), return_train_score=True,
                              return_estimator=True, n_jobs=N_WORKERS)

    on_dask, seen = _under_dask(client, fit, X, y)
    on_loky = _under_loky(fit, X, y)
    for key in ("test_neg_log_loss", "train_neg_log_loss", "test_accuracy", "train_accuracy"):
        np.testing.assert_array_equal(on_dask[key], on_loky[key], err_msg=key)
    # the models fitted on the workers are the models fitted by loky
    for from_dask, from_loky in zip(on_dask["estimator"], on_loky["estimator"]):
        np.testing.assert_array_equal(from_dask.predict_proba(X), from_loky.predict_proba(X))
    assert _broadcast_problems(client, X, seen) == []
    assert _task_problems(X, seen) == []


def test_grid_search_of_a_dask_array_on_dask_runs_each_fit_in_its_task(client, datasets):
    # A fit that joblib's Dask backend runs in a worker task computes the passes
    # over its dask X in that task (as under loky, in its process): from there,
    # tasks of its own held the worker's thread and lost their scattered labels
    # in about one search in six ("lost dependencies").
    da = pytest.importorskip("dask.array")
    X, y = datasets["classification"]
    grid = {"degree": [None, 2], "width": [8, 16]}

    def search():
        return GridSearchCV(NeuralLoFiClassifier(n_components=2, head_width=16, random_state=0), grid, cv=CV,
                            scoring="neg_log_loss", n_jobs=N_WORKERS, error_score="raise", refit=False)

    X = da.from_array(X, chunks=(50, -1))
    reference = _under_loky(search().fit, X, y)  # the same chunks, summed in the same order
    for _ in range(2):
        _wait_until_the_cluster_is_empty(client)
        client.run_on_scheduler(_reset_recorder)
        with joblib.parallel_config(backend="dask"):
            on_dask = search().fit(X, y)
        tasks = client.run_on_scheduler(_recorded_tasks)
        _assert_same_search(on_dask, reference)
        nested = [key for key in tasks if any(name in key for name in ("accumulate", "combine", "collect"))]
        assert tasks and not nested, nested


@pytest.mark.parametrize("shipped", ["copy", "list-of-rows"])
def test_the_scatter_check_fails_when_the_tasks_do_not_read_the_scattered_X(shipped, client, datasets):
    # The control of the check above: X and y are scattered, but the search is given
    # a copy of X, which joblib (finding scattered data by identity) scatters once
    # more on its own, or X as a list of rows, which cannot be weakly referenced and
    # is therefore pickled into every task.
    X, y = datasets["classification"]
    search = GridSearchCV(NeuralLoFiClassifier(width=16, head_width=16, random_state=0), {"n_components": [1, 3]},
                          cv=2, n_jobs=N_WORKERS)

    def fit(_, y):
        return search.fit(X.copy() if shipped == "copy" else X.tolist(), y)

    _, seen = _under_dask(client, fit, X, y)
    problems = _task_problems(X, seen)
    expected = ("not on the scattered", "besides") if shipped == "copy" else ("not on the scattered", "carries")
    for kind in expected:
        assert any(kind in problem for problem in problems), problems
    assert all(any(kind in problem for kind in expected) for problem in problems), problems
    if shipped == "list-of-rows":
        # what the count after the search sees: the broadcast X only, on both workers
        assert _broadcast_problems(client, X, seen) == []


# --------------------------------------------------------------------------------------
# numba's thread budget inside a worker task
# --------------------------------------------------------------------------------------
def test_numba_threads_in_a_worker_task_are_the_workers_share_of_the_host(client):
    def in_task():
        from sklearn_lofi._threads import dask_worker_share, effective_n_threads, numba_threads

        default = effective_n_threads(None)  # launches numba's threads: the layer is known from here on
        with numba_threads(None) as granted:
            pass
        return {
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "share": dask_worker_share(),
            "default": default,
            "granted": granted,
            "one": effective_n_threads(1),
            "two": effective_n_threads(2),
            "launched": numba.config.NUMBA_NUM_THREADS,
            "layer": numba.threading_layer(),
        }

    workers = sorted(client.scheduler_info()["workers"])
    assert len(workers) == N_WORKERS
    for worker in workers:
        seen = client.submit(in_task, pure=False, workers=[worker], allow_other_workers=False).result(timeout=60)
        # two one-thread workers on this host: half of its usable cores each
        share = max(1, seen["cores"] // N_WORKERS)
        assert seen["share"] == share, seen
        # tasks run off the worker's main thread: more than one numba thread only
        # with a thread-safe threading layer (workqueue would abort the process)
        thread_safe = seen["layer"] in ("omp", "tbb")
        assert seen["default"] == seen["granted"] == (min(share, seen["launched"]) if thread_safe else 1), seen
        # an explicit n_jobs is honoured, also above the share (numba's pool was
        # launched above; before that, the threading layer is unknown and a task
        # asking for 2 threads gets 1)
        assert seen["one"] == 1, seen
        assert seen["two"] == (min(2, seen["launched"]) if thread_safe else 1), seen


def test_no_worker_share_outside_a_worker(client):
    # in the client's process, with distributed imported and a cluster running
    assert dask_worker_share() is None
    assert effective_n_threads(None) == numba.get_num_threads()
