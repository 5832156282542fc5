"""Fit time of Neural LoFi against n and against the layer width P (log-log).

``NeuralLoFiClassifier`` with its defaults except the swept size (one filtered
layer, K = 64, head 2048, leave-one-out readout, ``eig_solver="auto"``) on a
synthetic task: D = 64 standard Gaussian inputs, label ``sign(x0 x1)``. The
n-sweep holds P = 1024; the P-sweep holds n = 10^4. The printed slopes are
least-squares fits of log(time) on log(size), the n-slope over n >= 10^4 and
over the whole range, and the slopes between consecutive sizes: fixed costs
that do not grow with n (the head's 2048 x 2048 eigendecomposition, the
layer's eigensolver) flatten the curve at small n, so the slope between the
two largest n is the one that tells whether the cost grows linearly.

Run (about 2 minutes on 2 cores; writes the plot for the docs)::

    python benchmarks/scaling.py --json benchmarks/results/scaling.json --plot doc/_static/scaling.png

Small version::

    python benchmarks/scaling.py --quick
"""

import argparse
import json
import time

import numpy as np

from sklearn_lofi import NeuralLoFiClassifier

N_SWEEP = [1_000, 3_000, 10_000, 30_000, 100_000, 200_000]
P_SWEEP = [256, 512, 1024, 2048, 4096, 8192]


def task(n_rows, n_features=64, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_rows, n_features))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def fit_seconds(n_rows, width, head_width):
    X, y = task(n_rows)
    model = NeuralLoFiClassifier(width=width, head_width=head_width, random_state=0)
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start, model._fit_eig_solvers[0]


def slope(sizes, seconds):
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def segment_slopes(sizes, seconds):
    """Slope of log(time) on log(size) between consecutive sizes."""
    return [float(v) for v in np.diff(np.log(seconds)) / np.diff(np.log(sizes))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n up to 8000, P up to 1024, head 256")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--plot", help="write a log-log plot here (needs matplotlib: pip install '.[plot]')")
    args = parser.parse_args(argv)
    n_sweep, p_sweep, head, fixed_width, fixed_n = N_SWEEP, P_SWEEP, 2048, 1024, 10_000
    if args.quick:
        n_sweep, p_sweep, head, fixed_width, fixed_n = [1000, 2000, 4000, 8000], [128, 256, 512, 1024], 256, 256, 2000

    fit_seconds(2000, 128, 64)  # warm-up: compilation
    results = {"n_sweep": [], "p_sweep": [], "head_width": head}
    print(f"n-sweep at P = {fixed_width}")
    for n_rows in n_sweep:
        seconds, solver = fit_seconds(n_rows, fixed_width, head)
        results["n_sweep"].append({"n_rows": n_rows, "width": fixed_width, "seconds": seconds, "eig_solver": solver})
        print(f"  n = {n_rows:>7}: {seconds:7.2f} s ({solver})", flush=True)
    print(f"P-sweep at n = {fixed_n}")
    for width in p_sweep:
        seconds, solver = fit_seconds(fixed_n, width, head)
        results["p_sweep"].append({"n_rows": fixed_n, "width": width, "seconds": seconds, "eig_solver": solver})
        print(f"  P = {width:>5}: {seconds:7.2f} s ({solver})", flush=True)

    ns = np.array([r["n_rows"] for r in results["n_sweep"]])
    n_times = np.array([r["seconds"] for r in results["n_sweep"]])
    large = ns >= (10_000 if not args.quick else 2000)
    results["n_slope_all"] = slope(ns, n_times)
    results["n_slope_large_n"] = slope(ns[large], n_times[large])
    results["n_segment_slopes"] = segment_slopes(ns, n_times)
    results["p_slope"] = slope([r["width"] for r in results["p_sweep"]], [r["seconds"] for r in results["p_sweep"]])
    results["p_segment_slopes"] = segment_slopes([r["width"] for r in results["p_sweep"]],
                                                 [r["seconds"] for r in results["p_sweep"]])
    print(f"log-log slope in n: {results['n_slope_large_n']:.2f} (n >= {ns[large][0]}), "
          f"{results['n_slope_all']:.2f} (all n), between the two largest n {results['n_segment_slopes'][-1]:.2f}; "
          f"in P: {results['p_slope']:.2f}")
    print("segment slopes in n: " + ", ".join(f"{v:.2f}" for v in results["n_segment_slopes"]))
    print("segment slopes in P: " + ", ".join(f"{v:.2f}" for v in results["p_segment_slopes"]))

    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise SystemExit("--plot needs matplotlib: pip install '.[plot]'") from error
        figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
        left.loglog(ns, n_times, "o-", label="Neural LoFi fit")
        left.loglog(ns, n_times[-1] * ns / ns[-1], "k:", label="slope 1")
        left.set(xlabel="n (rows)", ylabel="fit time (s)", title=f"P = {fixed_width}")
        left.legend()
        ps = np.array([r["width"] for r in results["p_sweep"]])
        p_times = np.array([r["seconds"] for r in results["p_sweep"]])
        right.loglog(ps, p_times, "o-", label="Neural LoFi fit")
        right.loglog(ps, p_times[0] * ps / ps[0], "k:", label="slope 1")
        right.set(xlabel="P (layer width)", title=f"n = {fixed_n}")
        right.legend()
        from matplotlib.ticker import NullFormatter

        for axis, sizes in ((left, ns), (right, ps)):
            axis.set_xticks(sizes, [str(int(v)) for v in sizes], rotation=45)
            axis.xaxis.set_minor_formatter(NullFormatter())
            axis.yaxis.set_minor_formatter(NullFormatter())
        figure.tight_layout()
        figure.savefig(args.plot, dpi=120)
        print(f"plot written to {args.plot}")
    return results


if __name__ == "__main__":
    main()
