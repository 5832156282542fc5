"""Compiled activation kernel against its NumPy twin, in one run.

The lift's element-wise pass ``scale * sigma(A)`` (and its Hermite truncation)
on an n x P float array: ``sklearn_lofi._kernels.apply_activation_`` (in place:
numba for ReLU, erf and the Hermite series, NumPy/SciPy ufuncs for tanh and the
sigmoid; 1 and 2 numba threads) against ``apply_activation_numpy`` (plain
NumPy, allocating). Prints the median of 5 timings and the ratio NumPy / ours. Run from the
repository root::

    python benchmarks/kernels.py
"""

import argparse
import time

import numpy as np

from sklearn_lofi._kernels import apply_activation_, apply_activation_numpy
from sklearn_lofi._threads import numba_threads


def median_time(function, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=2048)
    args = parser.parse_args(argv)
    rng = np.random.RandomState(0)
    print(f"n = {args.n}, width = {args.width}; median seconds of 5")
    print(f"{'activation':>16} {'dtype':>8}  {'NumPy':>7}  {'ours 1t':>8}  {'ours 2t':>8}  {'ratio 1t':>8}  {'ratio 2t':>8}")
    for activation, degree in [("relu", None), ("erf", None), ("tanh", None), ("sigmoid", None), ("relu", 4)]:
        for dtype in (np.float32, np.float64):
            A = rng.standard_normal((args.n, args.width)).astype(dtype)
            apply_activation_(A[:2].copy(), activation, degree, 0.5, 1)  # compile outside the timing
            apply_activation_(A[:2].copy(), activation, degree, 0.5, 2)
            numpy_time = median_time(lambda: apply_activation_numpy(A, activation, degree, 0.5))
            numba_times = []
            for threads in (1, 2):
                with numba_threads(threads) as n_threads:
                    numba_times.append(median_time(lambda: apply_activation_(A.copy(), activation, degree, 0.5,
                                                                            n_threads)))
            copy_time = median_time(lambda: A.copy())  # the benchmark's copy is not part of the kernel
            numba_times = [max(t - copy_time, 1e-9) for t in numba_times]
            name = activation if degree is None else f"{activation} (d={degree})"
            print(f"{name:>16} {np.dtype(dtype).name:>8}  {numpy_time:>7.3f}  {numba_times[0]:>8.3f}  "
                  f"{numba_times[1]:>8.3f}  {numpy_time / numba_times[0]:>7.1f}x  {numpy_time / numba_times[1]:>7.1f}x")


if __name__ == "__main__":
    main()
