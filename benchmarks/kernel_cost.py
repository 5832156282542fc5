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
label ``sign(x0 x1)``), each fit in a fresh process so that its peak memory
(``VmHWM`` minus ``VmRSS`` just before the fit, from ``/proc/self/status``)
is its own, against the memory the estimators
budget for (``_base.kernel_fit_bytes``) and against the time of its
unavoidable eigendecompositions (part 1's float64 ``evd`` time, twice for
kernel Neural LoFi, once for the deep NNGP). It fits the log-log slope
between the two largest n and extrapolates as n^3.

Run alone on an idle machine (about 10 minutes on 2 cores)::

    python benchmarks/kernel_cost.py --json benchmarks/results/kernel_cost.json

Small version::

    python benchmarks/kernel_cost.py --quick
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

try:
    import sklearn_lofi  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scipy import linalg
from threadpoolctl import threadpool_limits

from floor import best_of  # noqa: E402  (the benchmarks' own folder is on sys.path when run as a script)
from sklearn_lofi import DeepNNGPClassifier, KernelLoFiClassifier
from sklearn_lofi._base import kernel_fit_bytes
from sklearn_lofi._nngp import nngp_kernel_


def gram(n, dtype, seed=0):
    X = np.random.RandomState(seed).standard_normal((n, 64))
    Q = X @ X.T / 64.0
    v = np.diag(Q).copy()
    return nngp_kernel_(Q, v, v, "relu", None, symmetric=True).astype(dtype)


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


_FIT = """
import json, time
import numpy as np
from sklearn_lofi import {name}


def status_kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))


rng = np.random.RandomState(0)
X = rng.standard_normal(({n}, 64))
y = (X[:, 0] * X[:, 1] > 0).astype(int)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent's
# memory at fork, which hid the fits' own peaks below the benchmark's
before = status_kib("VmRSS:")
start = time.perf_counter()
{name}().fit(X, y)
seconds = time.perf_counter() - start
peak = status_kib("VmHWM:")
print(json.dumps({{"seconds": seconds, "peak_gib": peak / 2**20, "growth_gib": (peak - before) / 2**20}}))
"""


def fit_in_fresh_process(name, n):
    """Fit time and peak memory of one fit, in a process of its own."""
    out = subprocess.run([sys.executable, "-c", _FIT.format(name=name, n=n)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fits(sizes, eigh_seconds):
    rows = []
    for n in sizes:
        row = {"n": n, "budget_gib": kernel_fit_bytes(n, 8, 2 * n * n * 8) / 2**30}
        for key, name, n_eigh in (("kernel_lofi", "KernelLoFiClassifier", 2), ("deep_nngp", "DeepNNGPClassifier", 1)):
            measured = fit_in_fresh_process(name, n)
            row[key] = measured["seconds"]
            row[key + "_growth_gib"] = measured["growth_gib"]
            if n in eigh_seconds:
                # the unavoidable part: one full eigendecomposition per filtered layer and one for the readout
                row[key + "_over_eigh_floor"] = measured["seconds"] / (n_eigh * eigh_seconds[n])
        rows.append(row)
        floors = "".join(f", {k} / eigh floor {row[k + '_over_eigh_floor']:.2f}" for k in ("kernel_lofi", "deep_nngp")
                         if k + "_over_eigh_floor" in row)
        print(f"fit n={n}: kernel LoFi {row['kernel_lofi']:.1f} s (+{row['kernel_lofi_growth_gib']:.2f} GiB), "
              f"deep NNGP {row['deep_nngp']:.1f} s (+{row['deep_nngp_growth_gib']:.2f} GiB), budget "
              f"{row['budget_gib']:.2f} GiB{floors}", file=sys.stderr)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n in {250, 500}, one repeat")
    parser.add_argument("--json", help="write the result as JSON")
    args = parser.parse_args(argv)
    eig_sizes, fit_sizes, repeats = ([1000, 2000, 4000], [500, 1000, 2000, 4000], 2)
    if args.quick:
        eig_sizes, fit_sizes, repeats = [250, 500], [250, 500], 1
    eigh = drivers(eig_sizes, repeats)
    eigh_seconds = {r["n"]: r["evd"] for r in eigh if r["dtype"] == "float64"}
    result = {"eigh": eigh, "fit": fits(fit_sizes, eigh_seconds)}
    sizes = np.array([r["n"] for r in result["fit"]], float)
    slopes, extrapolated = {}, {}
    for name in ("kernel_lofi", "deep_nngp"):
        seconds = np.array([r[name] for r in result["fit"]])
        # the slope between the two largest n: the n^3 part dominates there
        slopes[name] = float(np.log(seconds[-1] / seconds[-2]) / np.log(sizes[-1] / sizes[-2]))
        extrapolated[name] = {str(n): float(seconds[-1] * (n / sizes[-1]) ** 3) for n in (8000, 16000, 32000)}
    result["slopes_between_largest"] = slopes
    result["extrapolated_seconds_n3"] = extrapolated
    result["budget_gib"] = {str(n): kernel_fit_bytes(n, 8) / 2**30 for n in (8000, 16000, 32000)}
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    if args.quick:
        print("quick run: fixed costs dominate at these n; the slopes and n^3 extrapolations mean nothing",
              file=sys.stderr)
    print(json.dumps({"slopes": slopes, "extrapolated": extrapolated, "budget_gib": result["budget_gib"]}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
