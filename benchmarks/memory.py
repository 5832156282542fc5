"""Streaming memory: a Neural LoFi fit whose lifted features do not fit in memory.

Fits ``NeuralLoFiClassifier`` on float32 data with n rows, D inputs, one layer
of width P keeping K directions, and reports the peak resident memory of the
process against the size the layer's lifted features ``Z`` (n x P) would have
if held whole. Under the default ``working_memory`` (1024 MiB) the features
are streamed by row blocks and recomputed per pass.

The task is synthetic (a planted low-degree target, so the fitted model's
accuracy shows that the streamed fit learned something): ``y = sign(x0 x1 +
0.5 (x2^2 - 1))`` on standard Gaussian inputs, 10 % labels flipped.

Run (full size, about 5 minutes on 2 cores)::

    python benchmarks/memory.py --json benchmarks/results/memory.json

Small version (seconds; forces streaming with a 32 MiB budget)::

    python benchmarks/memory.py --quick
"""

import argparse
import json
import platform
import resource
import sys
import time

import numpy as np
import sklearn

from sklearn_lofi import NeuralLoFiClassifier


def planted_task(n_rows, n_features, seed):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_rows, n_features)).astype(np.float32)
    margin = X[:, 0] * X[:, 1] + 0.5 * (X[:, 2] ** 2 - 1.0)
    y = (margin > 0).astype(np.int64)
    flip = rng.uniform(size=n_rows) < 0.1
    y[flip] = 1 - y[flip]
    return X, y


def peak_rss_bytes():
    # ru_maxrss is in KiB on Linux, bytes on macOS
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-rows", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=50)
    parser.add_argument("--width", type=int, default=8192)
    parser.add_argument("--n-components", type=int, default=64)
    parser.add_argument("--head-width", type=int, default=2048)
    parser.add_argument("--working-memory", type=float, default=None,
                        help="sklearn working_memory in MiB (default: the current setting, 1024)")
    parser.add_argument("--quick", action="store_true",
                        help="n=20000, P=1024, head 256, working_memory 32 MiB")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_rows, args.width, args.head_width, args.working_memory = 20_000, 1024, 256, 32

    X, y = planted_task(args.n_rows, args.n_features, seed=0)
    X_test, y_test = planted_task(20_000, args.n_features, seed=1)
    baseline_rss = peak_rss_bytes()
    model = NeuralLoFiClassifier(n_layers=1, width=args.width, n_components=args.n_components,
                                 head_width=args.head_width, random_state=0, verbose=1)
    working_memory = args.working_memory or sklearn.get_config()["working_memory"]
    with sklearn.config_context(working_memory=working_memory):
        start = time.perf_counter()
        model.fit(X, y)
        fit_seconds = time.perf_counter() - start
        fit_peak = peak_rss_bytes()
        accuracy = model.score(X_test, y_test)
    z_bytes = args.n_rows * args.width * np.dtype(np.float32).itemsize
    head_bytes = args.n_rows * args.head_width * np.dtype(np.float32).itemsize
    results = {
        "n_rows": args.n_rows, "n_features": args.n_features, "width": args.width,
        "n_components": args.n_components, "head_width": args.head_width, "dtype": "float32",
        "working_memory_mib": working_memory, "eig_solver_chosen": model._fit_eig_solvers,
        "fit_seconds": fit_seconds, "peak_rss_gib": fit_peak / 2**30,
        "rss_before_fit_gib": baseline_rss / 2**30,
        "lifted_features_if_held_gib": z_bytes / 2**30, "head_features_if_held_gib": head_bytes / 2**30,
        "peak_over_lifted_features": fit_peak / z_bytes,
        "test_accuracy": accuracy, "coef_dtype": str(model.coef_.dtype),
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores",
    }
    print(f"n={args.n_rows} D={args.n_features} P={args.width} K={args.n_components} head={args.head_width} "
          f"float32, working_memory={working_memory:g} MiB, solver {model._fit_eig_solvers}")
    print(f"Z (n x P) would take {z_bytes / 2**30:.2f} GiB and the head features {head_bytes / 2**30:.2f} GiB")
    print(f"fit {fit_seconds:.1f} s; peak resident memory {fit_peak / 2**30:.2f} GiB "
          f"(before the fit {baseline_rss / 2**30:.2f} GiB) = {fit_peak / z_bytes:.2f} x the size of Z")
    print(f"test accuracy {accuracy:.4f}; coef dtype {model.coef_.dtype}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return results


if __name__ == "__main__":
    main()
