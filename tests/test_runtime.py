"""numba in hostile places: threads, forked workers, no JIT, read-only installs."""

import os
import shutil
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, cross_val_score

import sklearn_lofi
from sklearn_lofi import NeuralLoFiClassifier
from sklearn_lofi._threads import effective_n_threads, numba_threads

try:  # pytest-timeout is in the test extra; without it the marks do nothing
    import pytest_timeout  # noqa: F401

    timeout = pytest.mark.timeout
except ImportError:  # pragma: no cover
    def timeout(seconds):
        return lambda function: function

SMALL = {"width": 64, "n_components": 4, "head_width": 128, "random_state": 0}
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(sklearn_lofi.__file__)))


def _run(code, env_update=None, drop=(), timeout=300):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_update or {})
    env["PYTHONPATH"] = env_update.get("PYTHONPATH", PACKAGE_PARENT) if env_update else PACKAGE_PARENT
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_thread_budget_is_clamped_and_restored():
    import numba

    before = numba.get_num_threads()
    with numba_threads(10_000) as n:
        assert n == numba.config.NUMBA_NUM_THREADS == numba.get_num_threads()
    assert numba.get_num_threads() == before
    assert effective_n_threads(-1) == numba.config.NUMBA_NUM_THREADS
    assert effective_n_threads(1) == 1


def test_threading_backend_does_not_abort():
    # bug-cases BR-12: parallel kernels entered from several Python threads.
    from joblib import parallel_backend

    X, y = make_classification(n_samples=400, n_features=10, random_state=0)
    NeuralLoFiClassifier(**SMALL, n_jobs=2).fit(X, y)
    with parallel_backend("threading", n_jobs=2):
        scores = cross_val_score(NeuralLoFiClassifier(**SMALL, n_jobs=2), X, y, cv=4)
    np.testing.assert_array_equal(scores, cross_val_score(NeuralLoFiClassifier(**SMALL), X, y, cv=4))


GRID = [{"n_components": [2], "degree": [None]}, {"n_components": [4], "degree": [3]}]


def _grid_search(n_jobs):
    X, y = make_classification(n_samples=240, n_features=8, n_informative=4, random_state=1)
    search = GridSearchCV(NeuralLoFiClassifier(**SMALL, n_jobs=n_jobs), GRID, cv=3, n_jobs=n_jobs)
    return search.fit(X, y)


@timeout(120)
@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_grid_search_in_parallel_matches_serial(backend):
    # Estimators asking for 2 numba threads inside 2 joblib workers: no abort
    # (workqueue), no hang (OpenMP), and the very same search as with n_jobs=1,
    # since no kernel result depends on the thread count.
    from joblib import parallel_backend

    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    # a parallel region in the main thread first: until then the threading layer
    # is unknown and worker threads would stay serial
    NeuralLoFiClassifier(**SMALL, n_jobs=2).fit(X, y)
    serial = _grid_search(1)
    with parallel_backend(backend, n_jobs=2):
        parallel = _grid_search(2)
    assert parallel.best_params_ == serial.best_params_
    for key in ("mean_test_score", "split0_test_score", "split1_test_score", "split2_test_score"):
        np.testing.assert_array_equal(parallel.cv_results_[key], serial.cv_results_[key])


def _worker_thread_budget(n_jobs):
    import numba

    from sklearn_lofi._threads import effective_n_threads, numba_threads

    with numba_threads(n_jobs) as granted:
        inside = numba.get_num_threads()
    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    NeuralLoFiClassifier(width=32, n_components=2, head_width=32, random_state=0, n_jobs=n_jobs).fit(X, y)
    return {"env": os.environ.get("NUMBA_NUM_THREADS"), "launched": numba.config.NUMBA_NUM_THREADS,
            "effective": effective_n_threads(n_jobs), "granted": granted, "inside": inside}


@timeout(120)
def test_loky_worker_is_clamped_to_its_numba_budget():
    # joblib gives each of k loky workers NUMBA_NUM_THREADS = cpu_count // k;
    # asking for more (here 64 threads, or all with -1) must neither raise
    # (numba.set_num_threads refuses more than were launched) nor go above it.
    from joblib import Parallel, delayed

    reports = Parallel(n_jobs=2, backend="loky")(delayed(_worker_thread_budget)(n) for n in (64, -1, None, 2))
    for report in reports:
        assert report["env"] is not None, "joblib did not set NUMBA_NUM_THREADS in the worker"
        budget = int(report["env"])
        assert report["launched"] == budget == max(os.cpu_count() // 2, 1)
        assert report["effective"] == report["granted"] == report["inside"] == budget


def _busy_threads_after_a_fit(seed):
    import numba
    from sklearn.datasets import make_classification
    from threadpoolctl import threadpool_info

    from sklearn_lofi import NeuralLoFiClassifier

    X, y = make_classification(n_samples=200, n_features=10, random_state=seed)
    NeuralLoFiClassifier(width=64, n_components=4, head_width=64, n_jobs=-1, random_state=seed).fit(X, y)
    blas = max((info["num_threads"] for info in threadpool_info()), default=1)
    return {"numba": numba.get_num_threads(), "blas": blas}


@timeout(120)
def test_parallel_workers_use_no_more_threads_than_cores():
    # k loky workers, each fitting with n_jobs=-1: numba's threads and BLAS's in each
    # worker stay within cores // k, so k workers never run more busy threads than cores
    from joblib import Parallel, delayed

    budget = max(os.cpu_count() // 2, 1)
    for report in Parallel(n_jobs=2, backend="loky")(delayed(_busy_threads_after_a_fit)(s) for s in range(4)):
        assert report["numba"] <= budget, report
        assert report["blas"] <= budget, report


@timeout(120)
def test_threaded_grid_search_leaves_the_blas_threads_as_they_were():
    # BLAS limits are process-wide: the one-thread blocks of the eigensolvers, entered
    # from several Python threads at once (GridSearchCV under the threading backend),
    # must give back the user's BLAS thread count, whichever block leaves last (each
    # block restoring what it had found left 1 thread for the rest of the process).
    # A fresh process: one whose main thread has set BLAS limits before does not show it.
    result = _run(
        """
        import numpy as np
        from joblib import parallel_config
        from sklearn.model_selection import GridSearchCV
        from threadpoolctl import threadpool_info
        from sklearn_lofi import KernelLoFiClassifier, NeuralLoFiClassifier

        def blas_threads():
            return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]

        X = np.random.RandomState(0).standard_normal((300, 10))
        y = (X[:, 0] > 0).astype(int)
        before = blas_threads()
        for est in (KernelLoFiClassifier(n_components=2, random_state=0),
                    NeuralLoFiClassifier(width=64, n_components=2, head_width=64, random_state=0)):
            with parallel_config(backend="threading"):
                GridSearchCV(est, {"alpha": [0.1, 1.0, 10.0]}, cv=3, n_jobs=2).fit(X, y)
            assert blas_threads() == before, (type(est).__name__, before, blas_threads())
        print(before)
        """,
        timeout=110,
    )
    assert result.returncode == 0, result.stderr[-2000:]


@timeout(60)
def test_concurrent_python_threads_share_the_numba_threads():
    # A Python thread entering numba_threads while another one holds all the
    # launched numba threads runs serially instead of launching as many again;
    # what a block releases goes to later ones; nested blocks stay within the
    # grant of their thread.
    import threading

    import numba

    launched = numba.config.NUMBA_NUM_THREADS
    first_inside, second_done = threading.Event(), threading.Event()
    granted = {}

    def first():
        with numba_threads(-1) as n:
            granted["first"] = n
            with numba_threads(-1) as nested:
                granted["nested"] = nested
            first_inside.set()
            second_done.wait(timeout=30)

    def second():
        first_inside.wait(timeout=30)
        with numba_threads(-1) as n:
            granted["second"] = n
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert granted == {"first": launched, "nested": launched, "second": 1}
    with numba_threads(-1) as n:  # everything given back
        assert n == launched == numba.get_num_threads()


def test_fork_pool_after_parallel_use_does_not_hang():
    result = _run(
        """
        import multiprocessing
        from sklearn.datasets import make_classification
        from sklearn_lofi import NeuralLoFiClassifier
        X, y = make_classification(n_samples=300, n_features=10, random_state=0)
        def fit_once(seed):
            return NeuralLoFiClassifier(width=64, n_components=4, head_width=64, random_state=seed).fit(X, y).score(X, y)
        if __name__ == "__main__":
            fit_once(0)
            with multiprocessing.get_context("fork").Pool(2) as pool:
                print(pool.map(fit_once, [1, 2]))
        """,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_pickle_with_jit_disabled():
    # bug-cases BR-10: nothing numba-specific is stored on fitted estimators.
    result = _run(
        """
        import pickle
        from sklearn.datasets import load_iris
        from sklearn_lofi import NeuralLoFiClassifier
        X, y = load_iris(return_X_y=True)
        m = NeuralLoFiClassifier(width=64, n_components=4, head_width=64, random_state=0).fit(X, y)
        assert (pickle.loads(pickle.dumps(m)).predict(X) == m.predict(X)).all()
        """,
        {"NUMBA_DISABLE_JIT": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_read_only_install_imports_and_fits(tmp_path):
    # bug-cases BR-14: a copy of the package without write access and without
    # HOME or NUMBA_CACHE_DIR must import and fit (caching simply switches off).
    destination = tmp_path / "site"
    shutil.copytree(os.path.dirname(sklearn_lofi.__file__), destination / "sklearn_lofi",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    code = textwrap.dedent("""
        import numpy as np, sklearn_lofi, sklearn_lofi._kernels as kernels
        from sklearn_lofi import NeuralLoFiClassifier
        X = np.random.default_rng(0).normal(size=(50, 3)); y = (X[:, 0] > 0).astype(int)
        NeuralLoFiClassifier(width=32, n_components=2, head_width=32, random_state=0).fit(X, y)
        print(sklearn_lofi.__file__, kernels._CACHE)
        """)
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "NUMBA_CACHE_DIR")}
    env["PYTHONPATH"] = str(destination)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # root ignores permission bits: mount the copy read-only in a private
        # mount namespace instead (the kernel then refuses every write).
        if shutil.which("unshare") is None:
            pytest.skip("running as root without unshare: cannot make the copy read-only")
        script = (f'mount --bind "{destination}" "{destination}" && '
                  f'mount -o remount,bind,ro "{destination}" && exec "{sys.executable}" -c "$0"')
        command = ["unshare", "--mount", "sh", "-c", script, code]
    else:
        for root, dirs, files in os.walk(destination):
            for name in files + dirs:
                path = os.path.join(root, name)
                os.chmod(path, os.stat(path).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        command = [sys.executable, "-c", code]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
                            check=False)
    if "unshare" in command[0] and "Operation not permitted" in result.stderr:
        pytest.skip("mount namespaces are not permitted here")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [str(destination / "sklearn_lofi" / "__init__.py"), "False"]


def test_cache_switch():
    result = _run("import sklearn_lofi._kernels as k; print(k._CACHE)", {"SKLEARN_LOFI_NUMBA_CACHE": "0"})
    assert result.stdout.strip() == "False"
