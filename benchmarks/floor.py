"""Fit time of the Neural LoFi layers against their floor.

The floor is the time of the matrix products the algorithm cannot avoid, timed
in the same run on arrays of the same shapes: per layer, the lift's ``H W``
(n x D times D x P) and the products the eigensolver needs. For the randomized
solver (what ``eig_solver="auto"`` picks at these sizes; the script checks and
prints it) that is ``n_power_iter + 1`` applications of ``V -> Z^T (y * (Z V))``
with a block of ``K + n_oversamples`` columns; for the dense path it would be
the operator ``Z^T diag(y) Z``. Everything else the fit does (activation,
normalisation, label weighting, orthonormalisation, Rayleigh-Ritz, selection,
validation) is overhead. ``Z`` is held in memory (``working_memory`` is raised
to fit it): streaming recomputes the lift per pass, which is avoidable when
memory allows.

Task: D = 64 standard Gaussian inputs, binary label ``sign(x0 x1)``, two
filtered layers of width P keeping K = 64 directions (``LoFiTransformer``).

Run::

    python benchmarks/floor.py --json benchmarks/results/floor.json

Small version::

    python benchmarks/floor.py --quick
"""

import argparse
import json
import time

import numpy as np
import sklearn

from sklearn_lofi import LoFiTransformer
from sklearn_lofi._spectral import _N_OVERSAMPLES, _N_POWER_ITER


def best_of(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def floor_seconds(model, X, repeats):
    """Time of the unavoidable products of every fitted layer, replayed on the same shapes."""
    total = 0.0
    H = X
    for weights, normalizer, components, solver in zip(
        model.random_weights_, model.normalizers_, model.components_, model._fit_eig_solvers
    ):
        scaled = H * (1.0 / normalizer)
        total += best_of(lambda: scaled @ weights, repeats)
        Z = np.maximum(scaled @ weights, 0.0)
        if solver == "randomized":
            block = np.ascontiguousarray(
                np.random.RandomState(0).standard_normal((Z.shape[1], components.shape[1] + _N_OVERSAMPLES))
            ).astype(Z.dtype)
            label = np.sign(np.random.RandomState(1).standard_normal((Z.shape[0], 1))).astype(Z.dtype)

            def solver_products():
                for _ in range(_N_POWER_ITER + 1):
                    Z.T @ (label * (Z @ block))

            total += best_of(solver_products, repeats)
        else:
            total += best_of(lambda: (Z * 1.0).T @ Z, repeats)
        H = Z @ components
        del Z
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--widths", type=int, nargs="+", default=[1024, 4096, 8192])
    parser.add_argument("--n-components", type=int, default=64)
    parser.add_argument("--n-features", type=int, default=64)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=1, help="best of this many timings")
    parser.add_argument("--quick", action="store_true", help="n=5000, P in {512, 1024}")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_rows, args.widths = [5000], [512, 1024]

    rows = []
    print(f"{'n':>7} {'P':>5} {'solver':>10} {'fit s':>8} {'floor s':>8} {'fit/floor':>9}")
    for n_rows in args.n_rows:
        rng = np.random.RandomState(0)
        X = rng.standard_normal((n_rows, args.n_features)).astype(args.dtype)
        y = (X[:, 0] * X[:, 1] > 0).astype(int)
        for width in args.widths:
            z_mib = n_rows * width * np.dtype(args.dtype).itemsize / 2**20
            with sklearn.config_context(working_memory=max(1024, 1.5 * z_mib)):
                model = LoFiTransformer(n_layers=2, width=width, n_components=args.n_components, random_state=0)
                model.fit(X, y)  # warm-up: compilation, page faults
                fit = best_of(lambda: model.fit(X, y), args.repeats)
                floor = floor_seconds(model, X, args.repeats)
            solvers = "/".join(model._fit_eig_solvers)
            rows.append({"n_rows": n_rows, "width": width, "n_components": args.n_components,
                         "n_features": args.n_features, "dtype": args.dtype, "eig_solvers": solvers,
                         "fit_seconds": fit, "floor_seconds": floor, "ratio": fit / floor})
            print(f"{n_rows:>7} {width:>5} {solvers:>10} {fit:>8.2f} {floor:>8.2f} {fit / floor:>9.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"dtype": args.dtype, "rows": rows}, handle, indent=2)
    return rows


if __name__ == "__main__":
    main()
