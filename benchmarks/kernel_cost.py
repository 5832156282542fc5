"""Cost of the infinite-width estimators: the dense eigensolver driver and fit time against n.

Part 1 times LAPACK's symmetric eigensolvers through ``scipy.linalg.eigh`` on
the kind of matrix the kernel estimators decompose (the ReLU NNGP Gram
matrix of n standard Gaussian rows in 64 dimensions), for every eigenpair,
on one BLAS thread (as the estimators call it): ``driver="evr"`` (SciPy's
default for this problem), ``"evd"`` (divide and conquer, what
``sklearn_lofi`` uses) and ``"ev"`` (QR iteration). Ratios are taken within
one run.

Part 2 times ``KernelLoFiClassifier`` (defaults: one filtered layer of 64
components, the NNGP head, kernel ridge with leave-one-out alpha) and
``DeepNNGPClassifier`` against n on a synthetic task (64 Gaussian inputs,
label ``sign(x0 x1)``), fits the log-log slope and prints the memory the
estimators budget for (``_base.kernel_fit_bytes``), extrapolating both to
larger n.

Run alone on an idle machine (about 10 minutes on 2 cores)::

    python benchmarks/kernel_cost.py --json benchmarks/results/kernel_cost.json

Small version::

    python benchmarks/kernel_cost.py --quick
"""

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

try:
    import sklearn_lofi  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scipy import linalg
from threadpoolctl import threadpool_limits

from sklearn_lofi import DeepNNGPClassifier, KernelLoFiClassifier
from sklearn_lofi._base import kernel_fit_bytes
from sklearn_lofi._nngp import nngp_kernel_


def gram(n, dtype, seed=0):
    X = np.random.RandomState(seed).standard_normal((n, 64))
    Q = X @ X.T / 64.0
    v = np.diag(Q).copy()
    return nngp_kernel_(Q, v, v, "relu", None, symmetric=True).astype(dtype)


def best_of(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def drivers(sizes, repeats):
    rows = []
    for n in sizes:
        for dtype in (np.float32, np.float64):
            G = gram(n, dtype)
            row = {"n": n, "dtype": np.dtype(dtype).name}
            with threadpool_limits(limits=1, user_api="blas"):
                for driver in ("evd", "evr", "ev"):
                    row[driver] = best_of(lambda: linalg.eigh(G, driver=driver, check_finite=False), repeats)
            row["evr_over_evd"] = row["evr"] / row["evd"]
            row["ev_over_evd"] = row["ev"] / row["evd"]
            rows.append(row)
            print(f"eigh n={n} {row['dtype']}: evd {row['evd']:.2f} s, evr {row['evr']:.2f} s "
                  f"({row['evr_over_evd']:.1f}x), ev {row['ev']:.2f} s ({row['ev_over_evd']:.1f}x)", file=sys.stderr)
    return rows


def task(n, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, 64))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def fits(sizes):
    rows = []
    for n in sizes:
        X, y = task(n)
        row = {"n": n}
        for name, model in (("kernel_lofi", KernelLoFiClassifier()), ("deep_nngp", DeepNNGPClassifier())):
            start = time.perf_counter()
            model.fit(X, y)
            row[name] = time.perf_counter() - start
        row["budget_gib"] = kernel_fit_bytes(n, 1, 8, True) / 2**30
        rows.append(row)
        print(f"fit n={n}: kernel LoFi {row['kernel_lofi']:.1f} s, deep NNGP {row['deep_nngp']:.1f} s, "
              f"memory budget {row['budget_gib']:.2f} GiB", file=sys.stderr)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n in {250, 500}, one repeat")
    parser.add_argument("--json", help="write the result as JSON")
    args = parser.parse_args(argv)
    eig_sizes, fit_sizes, repeats = ([1000, 2000, 4000], [500, 1000, 2000, 4000], 2)
    if args.quick:
        eig_sizes, fit_sizes, repeats = [250, 500], [250, 500], 1
    result = {"eigh": drivers(eig_sizes, repeats), "fit": fits(fit_sizes)}
    sizes = np.array([r["n"] for r in result["fit"]], float)
    slopes, extrapolated = {}, {}
    for name in ("kernel_lofi", "deep_nngp"):
        seconds = np.array([r[name] for r in result["fit"]])
        # the slope between the two largest n: the n^3 part dominates there
        slopes[name] = float(np.log(seconds[-1] / seconds[-2]) / np.log(sizes[-1] / sizes[-2]))
        extrapolated[name] = {str(n): float(seconds[-1] * (n / sizes[-1]) ** 3) for n in (8000, 16000, 32000)}
    result["slopes_between_largest"] = slopes
    result["extrapolated_seconds_n3"] = extrapolated
    result["budget_gib"] = {str(n): kernel_fit_bytes(n, 1, 8, True) / 2**30 for n in (8000, 16000, 32000)}
    result["machine"] = {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                         "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    print(json.dumps({"slopes": slopes, "extrapolated": extrapolated, "budget_gib": result["budget_gib"]}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
