"""Neural LoFi against its lazy baseline on a planted low-degree target.

``y = He2(<u, x>) / sqrt(2)`` with ``x ~ N(0, I_d)``, ``d = 50`` and a random unit
``u`` (variance 1): the label depends on one hidden direction, through its
square. A filtered layer can find ``u`` from the label-weighted operator once n
is large enough; a lazy random-feature network of the same shape cannot
concentrate on it. Prints test MSE (2000 fresh points) over seeds for several n.
Run from the repository root::

    python benchmarks/planted.py
"""

import argparse
import time

import numpy as np

from sklearn_lofi import NeuralLoFiRegressor, RandomFeatureBaselineRegressor


def sample(n, direction, seed):
    X = np.random.RandomState(seed).standard_normal((n, direction.size))
    t = X @ direction
    return X, (t**2 - 1) / np.sqrt(2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--d", type=int, default=50)
    parser.add_argument("--ratios", default="5,10,20,40", help="n / d values")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--width", type=int, default=1024)
    args = parser.parse_args(argv)
    u = np.random.RandomState(0).standard_normal(args.d)
    u /= np.linalg.norm(u)
    X_test, y_test = sample(2000, u, 10_000)
    shape = dict(n_layers=1, width=args.width, head_width=2 * args.width)
    print(f"d = {args.d}, width = {args.width}, head_width = {2 * args.width}; test MSE (Var y = 1), "
          f"mean ± std over {args.seeds} seeds")
    print(f"{'n/d':>5} {'n':>6}  {'Neural LoFi':>15}  {'lazy baseline':>15}  ratio")
    for ratio in [int(r) for r in args.ratios.split(",")]:
        n = ratio * args.d
        results = {"lofi": [], "lazy": []}
        for seed in range(args.seeds):
            X, y = sample(n, u, seed + 1)
            for key, est in (("lofi", NeuralLoFiRegressor(n_components=4, random_state=seed, **shape)),
                             ("lazy", RandomFeatureBaselineRegressor(random_state=seed, **shape))):
                results[key].append(np.mean((est.fit(X, y).predict(X_test) - y_test) ** 2))
        lofi, lazy = np.array(results["lofi"]), np.array(results["lazy"])
        print(f"{ratio:>5} {n:>6}  {lofi.mean():>7.3f} ± {lofi.std():.3f}  {lazy.mean():>7.3f} ± {lazy.std():.3f}"
              f"  {lofi.mean() / lazy.mean():.2f}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"wall time {time.perf_counter() - start:.0f} s")
