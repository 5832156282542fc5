"""Finite-width Neural LoFi converges to its kernel (infinite-width) form.

Task: digits, classes 0-4 against 5-9 (scikit-learn's bundled set),
``StandardScaler`` fitted on the training rows, the first ``--n-train`` rows
of a seeded shuffle for training and the rest (1297 rows) for testing. Both
models: two filtered layers of ``K`` components, the unfiltered head, the
ridge readout at a fixed ``alpha`` (so that the comparison is not perturbed
by discrete changes of the leave-one-out choice). The finite estimator,
``NeuralLoFiClassifier(width=P, head_width=P)``, runs for each ``P`` and
``--seeds`` random seeds; the kernel estimator, ``KernelLoFiClassifier``, is
deterministic and runs once.

Three gaps against ``P`` (mean over seeds; log-log slopes by least squares):

* the decision values: ``|f_P - f_inf| / |f_inf|`` over the test rows;
* the test MSE of the decision values against the +-1 labels:
  ``|mean_s MSE_P,s - MSE_inf|``;
* the test error: ``|mean_s err_P,s - err_inf|``.

A fluctuation of the random features of order 1/sqrt(P) gives slope -1/2 for
the first; the second and third are differences of averages, which shrink
at least as fast until they reach the seed-to-seed noise of their mean.

Run (about 5 minutes on 2 cores)::

    python benchmarks/convergence.py --json benchmarks/results/convergence.json \\
        --plot doc/_static/convergence.png

Small version (seconds)::

    python benchmarks/convergence.py --quick
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

try:
    import sklearn_lofi  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from sklearn_lofi import KernelLoFiClassifier, NeuralLoFiClassifier

WIDTHS = [100, 300, 1000, 3000, 10_000, 16_000]


def task(n_train, seed=0):
    X, digit = load_digits(return_X_y=True)
    y = (digit >= 5).astype(int)
    order = np.random.RandomState(seed).permutation(len(y))
    train, test = order[:n_train], order[n_train:]
    scaler = StandardScaler().fit(X[train])
    return scaler.transform(X[train]), y[train], scaler.transform(X[test]), y[test]


def metrics(model, X_test, y_test):
    scores = model.decision_function(X_test)
    target = 2.0 * y_test - 1.0
    return scores, float(np.mean((scores - target) ** 2)), float(np.mean((scores > 0) != (y_test == 1)))


def slope(widths, gaps):
    widths, gaps = np.asarray(widths, float), np.asarray(gaps, float)
    keep = gaps > 0
    return float(np.polyfit(np.log(widths[keep]), np.log(gaps[keep]), 1)[0])


def run(widths, seeds, n_train, n_components, alpha):
    X_train, y_train, X_test, y_test = task(n_train)
    params = dict(n_layers=2, n_components=n_components, alpha=alpha)
    start = time.perf_counter()
    kernel = KernelLoFiClassifier(**params).fit(X_train, y_train)
    kernel_seconds = time.perf_counter() - start
    f_inf, mse_inf, err_inf = metrics(kernel, X_test, y_test)
    print(f"kernel: test MSE {mse_inf:.4f}, error {err_inf:.4f}, fit {kernel_seconds:.1f} s", file=sys.stderr)
    rows = []
    for width in widths:
        decision_gaps, mses, errors, solvers, seconds = [], [], [], set(), []
        for seed in seeds:
            start = time.perf_counter()
            model = NeuralLoFiClassifier(width=width, head_width=width, random_state=seed, **params)
            model.fit(X_train, y_train)
            seconds.append(time.perf_counter() - start)
            f, mse, err = metrics(model, X_test, y_test)
            decision_gaps.append(np.linalg.norm(f - f_inf) / np.linalg.norm(f_inf))
            mses.append(mse)
            errors.append(err)
            solvers.update(model._fit_eig_solvers)
        row = {
            "width": width,
            "decision_gap": float(np.mean(decision_gaps)),
            "decision_gap_sem": float(np.std(decision_gaps, ddof=1) / np.sqrt(len(seeds))) if len(seeds) > 1 else 0.0,
            "mse_gap": abs(float(np.mean(mses)) - mse_inf),
            "mse_sem": float(np.std(mses, ddof=1) / np.sqrt(len(seeds))) if len(seeds) > 1 else 0.0,
            "error_gap": abs(float(np.mean(errors)) - err_inf),
            "mse_mean": float(np.mean(mses)),
            "error_mean": float(np.mean(errors)),
            "solvers": sorted(solvers),
            "fit_seconds": float(np.median(seconds)),
        }
        rows.append(row)
        print(f"P={width:6d}: decision gap {row['decision_gap']:.4f} ± {row['decision_gap_sem']:.4f}, "
              f"MSE {row['mse_mean']:.4f} (gap {row['mse_gap']:.4f}), error {row['error_mean']:.4f} "
              f"(gap {row['error_gap']:.4f}), {row['fit_seconds']:.1f} s, {','.join(row['solvers'])}",
              file=sys.stderr)
    return {
        "kernel": {"mse": mse_inf, "error": err_inf, "fit_seconds": kernel_seconds},
        "rows": rows,
        "slopes": {name: slope([r["width"] for r in rows], [r[name] for r in rows])
                   for name in ("decision_gap", "mse_gap", "error_gap")},
        "protocol": {"n_train": n_train, "n_test": len(y_test), "n_components": n_components, "alpha": alpha,
                     "seeds": list(seeds), "n_layers": 2, "task": "digits 0-4 vs 5-9"},
    }


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    widths = np.array([r["width"] for r in rows], float)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for key, label, marker in (("decision_gap", "decision values, relative", "o"),
                               ("mse_gap", "test MSE, absolute", "s"), ("error_gap", "test error, absolute", "^")):
        gaps = np.array([r[key] for r in rows])
        keep = gaps > 0
        ax.loglog(widths[keep], gaps[keep], marker=marker, label=f"{label} (slope {result['slopes'][key]:.2f})")
    guide = rows[0]["decision_gap"] * np.sqrt(widths[0] / widths)
    ax.loglog(widths, guide, "k--", lw=1, label=r"$\propto P^{-1/2}$")
    protocol = result["protocol"]
    ax.set_xlabel("width P (every layer and the head)")
    ax.set_ylabel("gap to the kernel estimator")
    ax.set_title(f"Finite -> kernel Neural LoFi, {protocol['task']}, n={protocol['n_train']}, "
                 f"{len(protocol['seeds'])} seeds", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-train", type=int, default=500)
    parser.add_argument("--n-components", type=int, default=32)
    parser.add_argument("--alpha", type=float, default=1e-2)
    parser.add_argument("--quick", action="store_true", help="widths 100 and 1000, 2 seeds, 200 training rows")
    parser.add_argument("--json", help="write the result as JSON")
    parser.add_argument("--plot", help="write the log-log plot (needs matplotlib)")
    args = parser.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",")]
    seeds, n_train = range(args.seeds), args.n_train
    if args.quick:
        widths, seeds, n_train = [100, 1000], range(2), 200
    result = run(widths, list(seeds), n_train, args.n_components, args.alpha)
    print(json.dumps(result["slopes"]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.plot:
        plot(result, args.plot)
    return result


if __name__ == "__main__":
    main()
