"""Leave-one-out ridge readout: ours against scikit-learn's RidgeCV, in one run.

Both choose alpha among the same candidates by efficient leave-one-out on the
same features (ReLU random features of Gaussian inputs, n rows, p columns) and
must agree on alpha and coefficients; the script prints both times and their
ratio. The research code spent 50-63 s in RidgeCV at n = 2000, p = 1000 with
500 candidates (reference-implementation.md §8.5). Run from the repository root::

    python benchmarks/readout.py

Small version: ``python benchmarks/readout.py --quick``.
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import RidgeCV

from sklearn_lofi._ridge import fit_ridge_loo


def features(n, p, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, 20))
    Z = np.maximum(X @ rng.standard_normal((20, p)) / np.sqrt(20), 0) / np.sqrt(p)
    y = np.sign(X[:, 0] * X[:, 1]) + 0.1 * rng.standard_normal(n)
    return Z, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default="2000x1000,1000x2000,4000x500", help="n x p pairs")
    parser.add_argument("--alphas", type=int, default=500, help="number of candidates in logspace(-6, 6)")
    parser.add_argument("--quick", action="store_true", help="n x p = 400 x 200, 50 candidates")
    args = parser.parse_args(argv)
    if args.quick:
        args.shapes, args.alphas = "400x200,200x400", 50
    alphas = np.logspace(-6, 6, args.alphas)
    print(f"{args.alphas} candidates; seconds, best of 2")
    print(f"{'n':>6} {'p':>6}  {'RidgeCV':>8}  {'ours':>8}  {'speed-up':>8}  same alpha  max |coef diff|")
    for shape in args.shapes.split(","):
        n, p = (int(v) for v in shape.split("x"))
        Z, y = features(n, p)
        times = {"sklearn": [], "ours": []}
        for _ in range(2):
            start = time.perf_counter()
            reference = RidgeCV(alphas=alphas).fit(Z, y)
            times["sklearn"].append(time.perf_counter() - start)
            start = time.perf_counter()
            coef, intercept, alpha, _, _ = fit_ridge_loo(Z, y[:, None], np.ones(n), alphas)
            times["ours"].append(time.perf_counter() - start)
        t_ref, t_ours = min(times["sklearn"]), min(times["ours"])
        diff = np.max(np.abs(coef[:, 0] - reference.coef_)) / np.max(np.abs(reference.coef_))
        print(f"{n:>6} {p:>6}  {t_ref:>8.2f}  {t_ours:>8.2f}  {t_ref / t_ours:>7.1f}x  "
              f"{str(bool(np.isclose(alpha, reference.alpha_))):>10}  {diff:.1e} (relative)")


if __name__ == "__main__":
    main()
