"""Compiled kernels against their NumPy twins, in one run.

Three groups, each timed with 1 and 2 threads (numba threads for the compiled
kernels through ``sklearn_lofi._threads.numba_threads``, BLAS threads through
threadpoolctl for the matrix products; NumPy's element-wise operations run on
one thread whatever the setting):

* activation: the lift's element-wise pass ``scale * sigma(A)`` (and its Hermite
  truncation) on an n x P array, ``apply_activation_`` (in place; numba for
  ReLU, erf and the Hermite series, NumPy/SciPy ufuncs for tanh and the
  sigmoid) against ``apply_activation_numpy`` (allocating);
* row weighting: ``scale_rows`` (``A[i, :] * w[i]``, into a new array and in
  place) against NumPy's broadcast multiply, ``centre_scale_rows`` (the
  readout's ``(A - mean) * w[:, None]`` in one pass) against NumPy's two
  passes, and ``label_weighted_blocks``
  (block ``c`` of the n x (m b) output is ``R[:, c:c+1] * ZV``) against one
  broadcast multiply and a reshape;
* accumulation: a candidate numba kernel for ``Z^T diag(r) Z`` (fixed chunks of
  rows, independent of the thread count, accumulated into a fixed number of
  partial sums merged in order) against the BLAS product
  ``(Z * r[:, None]).T @ Z``. The candidate lives only here: it lost, so the
  package uses BLAS.

Each time is the median of ``--repeats`` samples; a sample times enough calls to
last at least 20 ms and reports the time per call. The ratio is NumPy / ours
(above 1: the compiled kernel is faster). Raw numbers go to ``--json``. Run
from the repository root::

    python benchmarks/kernels.py --json benchmarks/results/kernels.json

Small version: ``python benchmarks/kernels.py --quick``.
"""

import argparse
import json
import math
import os
import platform
import sys
import time

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from sklearn_lofi._kernels import (
    apply_activation_,
    apply_activation_numpy,
    centre_scale_rows,
    centre_scale_rows_numpy,
    label_weighted_blocks,
    label_weighted_blocks_numpy,
    scale_rows,
    scale_rows_numpy,
)
from sklearn_lofi._threads import numba_threads

THREADS = (1, 2)


def per_call_time(function, setup=None, repeats=5, min_sample=0.02):
    """Median over ``repeats`` samples of the time per call of ``function``.

    ``setup`` (not timed) runs before every call when given, and then every
    sample is a single call.
    """
    if setup is None:
        start = time.perf_counter()
        function()  # warm-up, also sizes the samples
        single = time.perf_counter() - start
        number = max(1, math.ceil(min_sample / max(single, 1e-7)))
    else:
        number = 1
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        for _ in range(number):
            function()
        times.append((time.perf_counter() - start) / number)
    return float(np.median(times))


def _print_row(cells, widths):
    print("  ".join(f"{cell:<{width}}" for cell, width in zip(cells, widths)))


def _print_table(title, header, rows):
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[k]) for row in cells) for k in range(len(header))]
    rule = ["=" * w for w in widths]
    print(f"\n{title}\n")
    _print_row(rule, widths)
    _print_row(header, widths)
    _print_row(rule, widths)
    for row in cells[1:]:
        _print_row(row, widths)
    _print_row(rule, widths)
    sys.stdout.flush()


def _timed_pair(numpy_call, ours_call, repeats, numpy_setup=None, ours_setup=None):
    """NumPy and compiled times, with 1 and 2 threads each."""
    result = {"numpy": {}, "ours": {}}
    for threads in THREADS:
        with threadpool_limits(threads), numba_threads(threads) as n_threads:
            ours_call(n_threads)  # compile (or load from the cache) outside the timing
            result["numpy"][threads] = per_call_time(numpy_call, numpy_setup, repeats)
            result["ours"][threads] = per_call_time(lambda: ours_call(n_threads), ours_setup, repeats)
    return result


def _cells(timing):
    numpy_times = [timing["numpy"][t] for t in THREADS]
    ours = [timing["ours"][t] for t in THREADS]
    return ([f"{1e3 * t:.2f}" for t in numpy_times] + [f"{1e3 * t:.2f}" for t in ours]
            + [f"{n / o:.2f}x" for n, o in zip(numpy_times, ours)])


TIME_HEADER = ["NumPy 1t", "NumPy 2t", "ours 1t", "ours 2t", "ratio 1t", "ratio 2t"]


# --------------------------------------------------------------------------- activation

ACTIVATIONS = [("relu", None), ("erf", None), ("tanh", None), ("sigmoid", None), ("relu", 4), ("tanh", 4)]


def bench_activation(n, width, repeats, rng):
    records, rows = [], []
    for activation, degree in ACTIVATIONS:
        for dtype in (np.float32, np.float64):
            A = rng.standard_normal((n, width)).astype(dtype)
            work = np.empty_like(A)
            timing = _timed_pair(
                lambda A=A, activation=activation, degree=degree: apply_activation_numpy(A, activation, degree, 0.5),
                lambda n_threads, work=work, activation=activation, degree=degree: apply_activation_(
                    work, activation, degree, 0.5, n_threads),
                repeats,
                ours_setup=lambda A=A, work=work: np.copyto(work, A),  # in place: restore the input, untimed
            )
            name = activation if degree is None else f"{activation} (d={degree})"
            records.append({"activation": activation, "degree": degree, "dtype": np.dtype(dtype).name,
                            "n": n, "width": width, **timing})
            rows.append([name, np.dtype(dtype).name] + _cells(timing))
    _print_table(f"Activation pass, n = {n}, P = {width}; milliseconds per call",
                 ["activation", "dtype"] + TIME_HEADER, rows)
    return records


# --------------------------------------------------------------------------- row weighting

def bench_row_scaling(sizes, widths, repeats, rng):
    records, rows = [], []
    for dtype in (np.float32, np.float64):
        for width in widths:
            for n in sizes:
                A = rng.standard_normal((n, width)).astype(dtype)
                # weights of size 1 (random signs): scaling in place thousands of
                # times then neither overflows nor reaches subnormal numbers
                # (which would slow both sides down)
                w = rng.choice([-1.0, 1.0], n).astype(dtype)
                for mode in ("new array", "in place"):
                    out = None if mode == "new array" else A
                    timing = _timed_pair(lambda A=A, w=w, out=out: scale_rows_numpy(A, w, out=out),
                                         lambda n_threads, A=A, w=w, out=out: scale_rows(A, w, n_threads, out=out),
                                         repeats)
                    records.append({"kernel": "scale_rows", "mode": mode, "dtype": np.dtype(dtype).name,
                                    "n": n, "columns": width, **timing})
                    rows.append([f"{n} x {width}", mode, np.dtype(dtype).name] + _cells(timing))
    _print_table("Row scaling A[i, :] * w[i] (scale_rows); milliseconds per call",
                 ["n x columns", "output", "dtype"] + TIME_HEADER, rows)
    return records


def bench_centring(sizes, width, repeats, rng):
    records, rows = [], []
    for dtype in (np.float32, np.float64):
        for n in sizes:
            A = rng.standard_normal((n, width)).astype(dtype)
            offset = A.mean(axis=0)
            w = np.sqrt(rng.uniform(size=n)).astype(dtype)
            timing = _timed_pair(lambda A=A, offset=offset, w=w: centre_scale_rows_numpy(A, offset, w),
                                 lambda n_threads, A=A, offset=offset, w=w: centre_scale_rows(A, offset, w, n_threads),
                                 repeats)
            records.append({"kernel": "centre_scale_rows", "dtype": np.dtype(dtype).name, "n": n,
                            "columns": width, **timing})
            rows.append([f"{n} x {width}", np.dtype(dtype).name] + _cells(timing))
    _print_table("Readout centring (A - mean) * w[:, None] (centre_scale_rows); milliseconds per call",
                 ["n x columns", "dtype"] + TIME_HEADER, rows)
    return records


def bench_label_blocks(sizes, block_width, label_counts, repeats, rng):
    records, rows = [], []
    for dtype in (np.float32, np.float64):
        for n in sizes:
            for m in label_counts:
                ZV = rng.standard_normal((n, block_width)).astype(dtype)
                R = rng.standard_normal((n, m)).astype(dtype)
                timing = _timed_pair(lambda ZV=ZV, R=R: label_weighted_blocks_numpy(ZV, R),
                                     lambda n_threads, ZV=ZV, R=R: label_weighted_blocks(ZV, R, n_threads), repeats)
                records.append({"kernel": "label_weighted_blocks", "dtype": np.dtype(dtype).name, "n": n,
                                "b": block_width, "m": m, **timing})
                rows.append([str(n), str(m), np.dtype(dtype).name] + _cells(timing))
    _print_table(f"Label-weighted blocks, n x (m b) from ZV (n x {block_width}) and R (n x m) "
                 "(label_weighted_blocks); milliseconds per call",
                 ["n", "m", "dtype"] + TIME_HEADER, rows)
    return records


# --------------------------------------------------------------------------- accumulation

# The dropped candidate. Rows are cut into chunks of a fixed size, chunk k goes
# to partial sum k mod LANES, and the LANES partials are added in order: the
# result is the same for every thread count. Within a chunk, four rows at a
# time update a tile of rows of the (upper triangle of the) partial sum, which
# stays in cache while the rows stream past.
ACC_CHUNK_ROWS = 256
ACC_LANES = 8
ACC_TILE = 32


def _weighted_gram_lanes(Z, r, partials):
    n, width = Z.shape
    n_chunks = (n + ACC_CHUNK_ROWS - 1) // ACC_CHUNK_ROWS
    for lane in numba.prange(ACC_LANES):
        acc = partials[lane]
        for chunk in range(lane, n_chunks, ACC_LANES):
            start = chunk * ACC_CHUNK_ROWS
            stop = min(n, start + ACC_CHUNK_ROWS)
            for a0 in range(0, width, ACC_TILE):
                a1 = min(width, a0 + ACC_TILE)
                i = start
                while i + 4 <= stop:
                    z0, z1, z2, z3 = Z[i], Z[i + 1], Z[i + 2], Z[i + 3]
                    for a in range(a0, a1):
                        w0 = r[i] * z0[a]
                        w1 = r[i + 1] * z1[a]
                        w2 = r[i + 2] * z2[a]
                        w3 = r[i + 3] * z3[a]
                        row = acc[a]
                        for b in range(a, width):
                            row[b] += w0 * z0[b] + w1 * z1[b] + w2 * z2[b] + w3 * z3[b]
                    i += 4
                while i < stop:
                    z0 = Z[i]
                    for a in range(a0, a1):
                        w0 = r[i] * z0[a]
                        row = acc[a]
                        for b in range(a, width):
                            row[b] += w0 * z0[b]
                    i += 1


_gram_serial = numba.njit(_weighted_gram_lanes, nogil=True)
_gram_parallel = numba.njit(_weighted_gram_lanes, nogil=True, parallel=True)


def weighted_gram_chunked(Z, r, n_threads=1):
    width = Z.shape[1]
    partials = np.zeros((ACC_LANES, width, width), dtype=Z.dtype)
    (_gram_parallel if n_threads > 1 else _gram_serial)(Z, r, partials)
    total = partials[0]
    for lane in range(1, ACC_LANES):  # ordered merge
        total += partials[lane]
    upper = np.triu(total)
    return upper + np.triu(total, 1).T


def weighted_gram_blas(Z, r):
    return (Z * r[:, None]).T @ Z


def bench_accumulation(n, widths, repeats, rng):
    records, rows = [], []
    for dtype in (np.float32, np.float64):
        for width in widths:
            Z = rng.standard_normal((n, width)).astype(dtype)
            r = rng.standard_normal(n).astype(dtype)
            expected = weighted_gram_blas(Z, r)
            got = weighted_gram_chunked(Z, r, 1)
            with numba_threads(2) as n_threads:
                assert np.array_equal(weighted_gram_chunked(Z, r, n_threads), got)  # thread-count independent
            scale = np.abs(expected).max()
            error = float(np.abs(got - expected).max() / scale)
            assert error < (1e-3 if dtype == np.float32 else 1e-10), error
            timing = _timed_pair(lambda Z=Z, r=r: weighted_gram_blas(Z, r),
                                 lambda n_threads, Z=Z, r=r: weighted_gram_chunked(Z, r, n_threads), repeats)
            records.append({"kernel": "weighted_gram_chunked (dropped)", "dtype": np.dtype(dtype).name, "n": n,
                            "width": width, "max_relative_difference": error, **timing})
            rows.append([str(width), np.dtype(dtype).name] + _cells(timing))
    _print_table(f"Weighted second moment Z^T diag(r) Z, n = {n}: BLAS against the chunked numba candidate; "
                 "milliseconds per call", ["P", "dtype"] + TIME_HEADER, rows)
    return records


def _ints(text):
    return [int(float(v)) for v in text.split(",")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="rows of the activation benchmark")
    parser.add_argument("--width", type=int, default=2048, help="columns of the activation benchmark")
    parser.add_argument("--row-sizes", default="1e4,1e5", help="row counts of the row-weighting benchmarks")
    parser.add_argument("--row-widths", default="74,4096", help="column counts of the row-scaling benchmark")
    parser.add_argument("--centre-width", type=int, default=2048, help="columns of the centring benchmark")
    parser.add_argument("--block-width", type=int, default=74, help="b, columns of ZV")
    parser.add_argument("--labels", default="1,10", help="m, label columns of the block benchmark")
    parser.add_argument("--acc-n", type=int, default=10_000, help="rows of the accumulation benchmark")
    parser.add_argument("--acc-widths", default="512,2048", help="P of the accumulation benchmark")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="activation,rows,blocks,accumulation",
                        help="comma-separated subset of the groups")
    parser.add_argument("--json", help="write the raw numbers (seconds per call) here")
    parser.add_argument("--quick", action="store_true", help="small shapes, 2 repeats (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.width, args.row_sizes, args.row_widths, args.centre_width = 2000, 256, "2000", "74,512", 256
        args.labels, args.acc_n, args.acc_widths, args.repeats = "1,3", 1000, "128", 2
    groups = set(args.only.split(","))
    rng = np.random.RandomState(0)
    results = {
        "command": "python benchmarks/kernels.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "numpy": np.__version__, "numba": numba.__version__,
                    "numba_num_threads": numba.config.NUMBA_NUM_THREADS},
        "unit": "seconds per call, median of samples",
    }
    print(f"numba {numba.__version__}, NumPy {np.__version__}, {os.cpu_count()} CPUs; "
          f"median of {args.repeats}, ratio = NumPy / ours")
    if "activation" in groups:
        results["activation"] = bench_activation(args.n, args.width, args.repeats, rng)
    if "rows" in groups:
        results["scale_rows"] = bench_row_scaling(_ints(args.row_sizes), _ints(args.row_widths), args.repeats, rng)
        results["centre_scale_rows"] = bench_centring(_ints(args.row_sizes), args.centre_width, args.repeats, rng)
    if "blocks" in groups:
        results["label_weighted_blocks"] = bench_label_blocks(_ints(args.row_sizes), args.block_width,
                                                              _ints(args.labels), args.repeats, rng)
    if "accumulation" in groups:
        results["accumulation"] = bench_accumulation(args.acc_n, _ints(args.acc_widths), args.repeats, rng)
    results["numba_threading_layer"] = numba.threading_layer()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
            handle.write("\n")


if __name__ == "__main__":
    main()
