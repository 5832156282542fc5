"""Wall time of one GridSearchCV of Neural LoFi: joblib's loky backend against a local Dask cluster.

One ``GridSearchCV(NeuralLoFiClassifier(random_state=0), grid, cv=3)`` (refit on
the whole set included, as a user would run it) over

* ``degree`` in {None, 2}, ``width`` in {512, 1024}, ``n_components`` in {16, 32}
  (8 candidates x 3 folds = 24 fits, ``head_width`` at its default 2048),

on the ``spambase`` set of the shared data folder (4601 rows x 57 features,
binary; rows shuffled with seed 0, features standardised once on all rows,
the same arrays for every run), timed

* (a) with joblib's ``loky`` backend, ``n_jobs=2`` (the baseline), and
* (b) under ``joblib.parallel_config(backend="dask", scatter=[X, y])``, with
  ``n_jobs=-1``, on a ``dask.distributed.LocalCluster(n_workers=k,
  threads_per_worker=1, processes=True, dashboard_address=None,
  host="127.0.0.1")`` for k = 1, 2, 4. The scatter (a broadcast of X and y to
  the workers) happens inside the timed block.

Thread settings are the ones users get without configuring anything: loky gives
each of its 2 workers ``cpu_count // 2`` BLAS/OpenMP/numba threads; Dask's
nanny gives each worker process one BLAS/OpenMP thread per worker thread
(``distributed.nanny.pre-spawn-environ``), and sklearn_lofi caps its numba
threads inside a Dask task at the host's usable cores over the worker threads
on that host (``sklearn_lofi._threads.dask_worker_share``).

Timing protocol: every cluster is started before any timing (its start-up, the
``LocalCluster`` + ``Client`` construction until all k workers are up, is
reported separately). Every backend then gets one untimed warm-up search on the
first 300 rows (it starts loky's workers and compiles the numba kernels in
every worker process: sklearn_lofi does not cache compiled code on disk, so
each new process compiles; on the Dask clusters a tiny fit of each grid degree
also runs on every worker via ``Client.run``); its time is reported too. Then
``--repeats`` rounds each time loky, k = 1, k = 2, k = 4 in turn (interleaved, so
that drifts in machine load hit all of them), and the table shows the
**median** search time over the rounds. The ratios are
``median loky / median dask(k)`` (> 1: Dask faster) and
``median dask(1) / median dask(k)``. Every Dask run's
``cv_results_["mean_test_score"]`` is compared with the loky one for exact
equality (and so are the per-split scores).

Run (10 minutes on an idle 2-core machine, where a loky search takes about
40 s; the results in ``doc/distributed.rst`` come from this command)::

    python benchmarks/distributed_grid_search.py --json benchmarks/results/distributed_grid_search.json

Small version (600 rows, widths {64, 128}, K in {4, 8}, head 128, one round)::

    python benchmarks/distributed_grid_search.py --quick
"""

import argparse
import contextlib
import json
import logging
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
try:
    import sklearn_lofi
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_ROOT))
    import sklearn_lofi

import joblib
import sklearn
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from sklearn_lofi import NeuralLoFiClassifier
from sklearn_lofi._data import load_table

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "spambase" / "spambase.tsv.gz"

FULL = dict(n_rows=None, grid={"degree": [None, 2], "width": [512, 1024], "n_components": [16, 32]},
            head_width=None, repeats=3)
QUICK = dict(n_rows=600, grid={"degree": [None, 2], "width": [64, 128], "n_components": [4, 8]},
             head_width=128, repeats=1)
WARM_UP_ROWS = 300
CV = 3
LOKY_N_JOBS = 2


def usable_cores():
    """Cores this process may run on (affinity mask, then a cgroup v2 CPU quota if one is set)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = None
    try:
        with open("/sys/fs/cgroup/cpu.max") as handle:
            limit, period = handle.read().split()
        if limit != "max":
            quota = float(limit) / float(period)
    except (OSError, ValueError):
        pass
    return cores, quota


def load_data(path, n_rows):
    """Shuffled (seed 0), standardised X and integer y; falls back to load_digits without the shared file."""
    if os.path.exists(path):
        _, X, y, categorical = load_table(path, "target")
        if np.any(categorical):
            raise SystemExit(f"{path} has categorical columns; pick a numeric set")
        name = Path(path).name
    else:
        print(f"note: {path} not found, using sklearn's load_digits instead", flush=True)
        X, y = load_digits(return_X_y=True)
        name = "sklearn load_digits"
    order = np.random.RandomState(0).permutation(len(y))
    if n_rows is not None:
        order = order[:n_rows]
    X = StandardScaler().fit_transform(np.asarray(X, dtype=np.float64)[order])
    y = np.asarray(y)[order].astype(np.int64)
    return name, np.ascontiguousarray(X), y


def make_search(grid, head_width, n_jobs):
    params = {} if head_width is None else {"head_width": head_width}
    return GridSearchCV(NeuralLoFiClassifier(random_state=0, **params), grid, cv=CV, n_jobs=n_jobs)


def warm_worker(degrees, head_width):
    """Compile the kernels in this process: one tiny fit per grid degree."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 8))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    for degree in degrees:
        params = {} if head_width is None else {"head_width": head_width}
        NeuralLoFiClassifier(random_state=0, width=64, n_components=4, degree=degree, **params).fit(X, y)
    return sklearn_lofi.__file__


def run_loky(X, y, grid, head_width):
    search = make_search(grid, head_width, LOKY_N_JOBS)
    start = time.perf_counter()
    with joblib.parallel_config(backend="loky"):
        search.fit(X, y)
    return time.perf_counter() - start, search


def run_dask(client, X, y, grid, head_width):
    search = make_search(grid, head_width, -1)
    start = time.perf_counter()
    with joblib.parallel_config(backend="dask", scatter=[X, y], client=client):
        search.fit(X, y)
    return time.perf_counter() - start, search


def scores_of(search):
    results = search.cv_results_
    splits = np.array([results[f"split{i}_test_score"] for i in range(CV)])
    return [repr(p) for p in results["params"]], np.asarray(results["mean_test_score"]), splits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", "--small", dest="quick", action="store_true",
                        help="600 rows, a cheap grid, one round (seconds of searching)")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated Dask worker counts (default 1,2,4)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (default 3, 1 with --quick)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the spambase file of the shared data folder")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    setting = QUICK if args.quick else FULL
    repeats = args.repeats or setting["repeats"]
    worker_counts = [int(k) for k in args.workers.split(",")]
    grid, head_width = setting["grid"], setting["head_width"]
    total_start = time.perf_counter()
    load_before = os.getloadavg()

    import dask
    import distributed
    from dask.distributed import Client, LocalCluster

    # each scheduler also serves HTTP routes besides the (disabled) dashboard; a second cluster moves to a free port
    warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)

    dataset, X, y = load_data(args.data, setting["n_rows"])
    cores, quota = usable_cores()
    n_fits = CV * int(np.prod([len(v) for v in grid.values()]))
    print(f"data: {dataset}, {X.shape[0]} rows x {X.shape[1]} features, {len(np.unique(y))} classes")
    print(f"grid: {grid}, head_width={head_width or 'default'}, cv={CV}: {n_fits} fits + 1 refit per search")
    print(f"usable cores: {cores} (os.cpu_count() = {os.cpu_count()}, cgroup CPU quota: {quota or 'none'}); "
          f"load average before: {' '.join(f'{v:.2f}' for v in load_before)}")
    print(f"sklearn_lofi {sklearn_lofi.__version__}, scikit-learn {sklearn.__version__}, joblib {joblib.__version__}, "
          f"dask {dask.__version__}, distributed {distributed.__version__}, Python {platform.python_version()}",
          flush=True)
    print(f"sklearn_lofi imported from {sklearn_lofi.__file__} (the Dask workers are checked to import the same)")

    degrees = grid["degree"]
    warm_X, warm_y = X[:WARM_UP_ROWS], y[:WARM_UP_ROWS]
    rows = {"loky": {"backend": "loky", "n_workers": LOKY_N_JOBS, "startup_seconds": None}}
    environment = dict(os.environ)
    with contextlib.ExitStack() as stack:
        clients = {}
        for k in worker_counts:
            start = time.perf_counter()
            cluster = stack.enter_context(LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                                                       dashboard_address=None, host="127.0.0.1",
                                                       silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster, set_as_default=False))
            client.wait_for_workers(k)
            startup = time.perf_counter() - start
            clients[k] = client
            rows[k] = {"backend": "dask", "n_workers": k, "startup_seconds": startup}
            print(f"dask LocalCluster with {k} worker(s) started in {startup:.2f} s", flush=True)
        # Dask's nanny leaves its pre-spawn-environ (OMP_NUM_THREADS=1, ...) in this
        # process's environment, which loky's workers would inherit instead of the
        # cpu_count // n_jobs BLAS threads they get by default
        os.environ.clear()
        os.environ.update(environment)

        # warm-up: untimed in the table, reported
        start = time.perf_counter()
        run_loky(warm_X, warm_y, grid, head_width)
        rows["loky"]["warmup_seconds"] = time.perf_counter() - start
        print(f"warm-up loky: {rows['loky']['warmup_seconds']:.2f} s", flush=True)
        for k, client in clients.items():
            start = time.perf_counter()
            modules = set(client.run(warm_worker, degrees, head_width).values())
            if modules != {sklearn_lofi.__file__}:
                raise SystemExit(f"the workers import {modules}, this process {sklearn_lofi.__file__}")
            run_dask(client, warm_X, warm_y, grid, head_width)
            rows[k]["warmup_seconds"] = time.perf_counter() - start
            print(f"warm-up dask k={k}: {rows[k]['warmup_seconds']:.2f} s", flush=True)

        for row in rows.values():
            row["seconds"] = []
            row["mean_test_score_equal"] = []
            row["split_test_scores_equal"] = []
        reference = None
        for round_ in range(repeats):
            seconds, search = run_loky(X, y, grid, head_width)
            rows["loky"]["seconds"].append(seconds)
            params, means, splits = scores_of(search)
            if reference is None:
                reference = (params, means, splits, search.best_params_)
            loky_equal = params == reference[0] and np.array_equal(means, reference[1])
            rows["loky"]["mean_test_score_equal"].append(bool(loky_equal))
            rows["loky"]["split_test_scores_equal"].append(bool(np.array_equal(splits, reference[2])))
            line = [f"loky {seconds:.2f} s"]
            for k, client in clients.items():
                seconds, search = run_dask(client, X, y, grid, head_width)
                rows[k]["seconds"].append(seconds)
                d_params, d_means, d_splits = scores_of(search)
                rows[k]["mean_test_score_equal"].append(bool(d_params == reference[0]
                                                             and np.array_equal(d_means, reference[1])))
                rows[k]["split_test_scores_equal"].append(bool(np.array_equal(d_splits, reference[2])))
                line.append(f"dask k={k} {seconds:.2f} s")
            print(f"round {round_ + 1}/{repeats}: " + ", ".join(line), flush=True)

    for row in rows.values():
        row["median_seconds"] = statistics.median(row["seconds"])
    loky_median = rows["loky"]["median_seconds"]
    one = rows[1]["median_seconds"] if 1 in rows else None
    for key, row in rows.items():
        row["loky_over_this"] = loky_median / row["median_seconds"]
        row["one_worker_over_this"] = None if (one is None or key == "loky") else one / row["median_seconds"]

    print()
    print(f"search wall time, median of {repeats} round(s) (start-up and warm-up not included)")
    print(f"{'backend':<22} {'start-up s':>10} {'warm-up s':>9} {'search s':>9} {'loky/this':>9} "
          f"{'1-worker/this':>13}  mean_test_score == loky")
    all_equal = True
    for key, row in rows.items():
        label = f"loky n_jobs={LOKY_N_JOBS}" if key == "loky" else f"dask LocalCluster k={key}"
        startup = "-" if row["startup_seconds"] is None else f"{row['startup_seconds']:.2f}"
        per_one = "-" if row["one_worker_over_this"] is None else f"{row['one_worker_over_this']:.2f}x"
        equal = all(row["mean_test_score_equal"])
        all_equal &= equal
        note = "(reference)" if key == "loky" and equal else ("yes" if equal else "NO")
        if key != "loky" and equal and not all(row["split_test_scores_equal"]):
            note += " (but per-split scores differ)"
        print(f"{label:<22} {startup:>10} {row['warmup_seconds']:>9.2f} {row['median_seconds']:>9.2f} "
              f"{row['loky_over_this']:>8.2f}x {per_one:>13}  {note}")
    print(f"all rounds: " + "; ".join(
        f"{'loky' if key == 'loky' else f'k={key}'} " + ", ".join(f"{s:.2f}" for s in row["seconds"])
        for key, row in rows.items()))
    print(f"every Dask run's mean_test_score equals loky's exactly: {'yes' if all_equal else 'NO'}; "
          f"best params {reference[3]}, best mean score {reference[1].max():.4f}")
    load_after = os.getloadavg()
    total = time.perf_counter() - total_start
    print(f"load average after: {' '.join(f'{v:.2f}' for v in load_after)}; total run time {total:.1f} s")

    results = {
        "dataset": dataset, "n_rows": int(X.shape[0]), "n_features": int(X.shape[1]), "grid": grid,
        "head_width": head_width, "cv": CV, "n_fits_per_search": n_fits, "refit": True, "repeats": repeats,
        "statistic": "median over rounds", "quick": bool(args.quick),
        "usable_cores": cores, "os_cpu_count": os.cpu_count(), "cgroup_cpu_quota": quota,
        "load_average_before": list(load_before), "load_average_after": list(load_after),
        "total_seconds": total, "all_dask_mean_test_score_equal_loky": bool(all_equal),
        "mean_test_score": reference[1].tolist(), "params": reference[0],
        "best_params": {key: value for key, value in reference[3].items()},
        "sklearn_lofi_module": sklearn_lofi.__file__,
        "versions": {"sklearn_lofi": sklearn_lofi.__version__, "scikit-learn": sklearn.__version__,
                     "joblib": joblib.__version__, "dask": dask.__version__,
                     "distributed": distributed.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "dask_pre_spawn_environ": {key: str(value) for key, value in
                                   dask.config.get("distributed.nanny.pre-spawn-environ").items()},
        "rows": [dict(row) for row in rows.values()],
    }
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return results


if __name__ == "__main__":
    main()
