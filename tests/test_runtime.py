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
from sklearn.model_selection import cross_val_score

import sklearn_lofi
from sklearn_lofi import NeuralLoFiClassifier
from sklearn_lofi._threads import effective_n_threads, numba_threads

SMALL = dict(width=64, n_components=4, head_width=128, random_state=0)
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(sklearn_lofi.__file__)))


def _run(code, env_update=None, drop=(), timeout=300):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_update or {})
    env["PYTHONPATH"] = env_update.get("PYTHONPATH", PACKAGE_PARENT) if env_update else PACKAGE_PARENT
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=timeout)


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
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    if "unshare" in command[0] and "Operation not permitted" in result.stderr:
        pytest.skip("mount namespaces are not permitted here")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [str(destination / "sklearn_lofi" / "__init__.py"), "False"]


def test_cache_switch():
    result = _run("import sklearn_lofi._kernels as k; print(k._CACHE)", {"SKLEARN_LOFI_NUMBA_CACHE": "0"})
    assert result.stdout.strip() == "False"
