"""Hierarchical target: Neural LoFi against its lazy baselines as n grows.

The target is :func:`sklearn_lofi.datasets.make_quadratic_of_quadratics`: a
quadratic form of ``m`` hidden quadratic features ``h_i(x) = x^T S_i x`` (up to
centring and scale) of ``x ~ N(0, I_d)``; globally a degree-4 polynomial of
``x``. A filtered first layer can find the span of ``h`` from label-weighted
second moments of its lift, and the next lift then only has to build a
quadratic of a few features; a lazy random-feature network of the same shape
(``RandomFeatureBaselineRegressor``) and its infinite-width limit (the deep
NNGP, ``DeepNNGPRegressor``) have to fit a general degree-4 polynomial of
``x``. For each training size n the script prints, over seeds (each seed draws
a new target, new rows and new random features), the test MSE over Var(y) on
fresh rows, and the feature recovery of each Neural LoFi model: the fraction of
the variance of the hidden features ``h`` (and of their y-relevant part)
explained by a linear regression on the first filtered layer's features.

The infinite-width limits of the two Neural LoFi models
(``KernelLoFiRegressor``: width and head width to infinity) run, like the
deep NNGP, up to ``--nngp-max`` rows (their cost grows as n^3); they tell a
finite-width effect from one of the filter itself.

Model names count layers as the paper does (every random lift is a layer):
``n_layers=1`` (one filtered layer, then the random-feature head) is a
2-layer model, ``n_layers=2`` a 3-layer one. Run from the repository root
(all eight models, about 75 minutes on 2 cores)::

    python benchmarks/hierarchy.py --json benchmarks/results/hierarchy.json \\
        --plot doc/_static/hierarchy.png

The stored results were made in two runs with the same settings, the six
finite and deep-NNGP models first and then, with ``--models "kernel LoFi, 2
layers;kernel LoFi, 3 layers" --json benchmarks/results/hierarchy_kernel.json``,
the kernel ones; every fit depends only on its seed and n, so the split gives
the numbers of one run. Their tables and figure together::

    python benchmarks/hierarchy.py --load benchmarks/results/hierarchy.json \\
        benchmarks/results/hierarchy_kernel.json --plot doc/_static/hierarchy.png
"""

import argparse
import json
import platform
import time

import numpy as np

from sklearn_lofi import (
    DeepNNGPRegressor,
    KernelLoFiRegressor,
    LoFiTransformer,
    NeuralLoFiRegressor,
    RandomFeatureBaselineRegressor,
)
from sklearn_lofi.datasets import hidden_features, make_quadratic_of_quadratics


def first_layer(args, seed, X, y):
    """The first filtered layer shared by both Neural LoFi models, as a fitted ``LoFiTransformer``.

    With the same ``random_state`` the transformer draws the same lift and
    finds the same directions as the first layer of each regressor (checked
    for every fit: ``same_first_layer`` in the JSON).
    """
    degree = None if args.degree == 0 else args.degree
    return LoFiTransformer(n_layers=1, width=args.width, n_components=args.components, degree=degree,
                           random_state=seed).fit(X, y)


def explained_variance(F, targets):
    """Out-of-sample R^2 of a linear regression (with intercept) of ``targets`` on ``F``.

    Fitted on the first half of the rows, scored on the second half, and
    pooled over the target columns (1 - total residual / total variance).
    """
    half = len(F) // 2
    design = np.column_stack([F, np.ones(len(F))])
    coef, *_ = np.linalg.lstsq(design[:half], targets[:half], rcond=None)
    residual = targets[half:] - design[half:] @ coef
    return float(1.0 - (residual**2).sum() / ((targets[half:] - targets[half:].mean(axis=0)) ** 2).sum())


def relevant_features(H, outer):
    """The part of ``h`` the label uses: ``|Lambda|^(1/2) U^T h`` with ``S' = U Lambda U^T``.

    A direction of ``h`` along an eigenvector of ``S'`` with eigenvalue 0 does
    not enter ``y`` at all, so no label-driven method can be asked to find it.
    """
    eigenvalues, U = np.linalg.eigh(outer)
    return (H @ U) * np.sqrt(np.abs(eigenvalues))


def build_models(args):
    """Name -> (factory(seed), is a Neural LoFi model, largest n to fit it at)."""
    degree = None if args.degree == 0 else args.degree
    shape = dict(width=args.width, head_width=args.head_width, degree=degree)
    return {
        "Neural LoFi, 2 layers": (
            lambda s: NeuralLoFiRegressor(n_layers=1, n_components=args.components, random_state=s, **shape),
            True, None),
        "Neural LoFi, 3 layers": (
            lambda s: NeuralLoFiRegressor(n_layers=2, n_components=[args.components, args.components2],
                                          random_state=s, **shape),
            True, None),
        "lazy RF, 2 layers": (
            lambda s: RandomFeatureBaselineRegressor(n_layers=1, random_state=s, **shape), False, None),
        "lazy RF, 3 layers": (
            lambda s: RandomFeatureBaselineRegressor(n_layers=2, random_state=s, **shape), False, None),
        "deep NNGP, 2 layers": (lambda s: DeepNNGPRegressor(n_layers=1, degree=degree), False, args.nngp_max),
        "deep NNGP, 3 layers": (lambda s: DeepNNGPRegressor(n_layers=2, degree=degree), False, args.nngp_max),
        # the infinite-width limits of the two Neural LoFi models (width and head width to infinity)
        "kernel LoFi, 2 layers": (
            lambda s: KernelLoFiRegressor(n_layers=1, n_components=args.components, degree=degree, random_state=s),
            False, args.nngp_max),
        "kernel LoFi, 3 layers": (
            lambda s: KernelLoFiRegressor(n_layers=2, n_components=[args.components, args.components2],
                                          degree=degree, random_state=s),
            False, args.nngp_max),
    }


def run(args):
    models = build_models(args)
    if args.models:
        wanted = [name.strip() for name in args.models.split(";")]
        models = {name: models[name] for name in wanted}
    ns = sorted(int(v) for v in args.ns.split(","))
    records = []
    for seed in range(args.seeds):
        X, y, inner, outer = make_quadratic_of_quadratics(
            ns[-1] + args.n_test, args.d, n_hidden=args.hidden, noise=args.noise, random_state=seed)
        X_test, y_test = X[ns[-1]:], y[ns[-1]:]
        H_test = hidden_features(X_test, inner)
        H_relevant = relevant_features(H_test, outer)
        var_test = float(y_test.var())
        for n in ns:
            layer = None
            if any(filtered for _, filtered, _ in models.values()):
                layer = first_layer(args, seed, X[:n], y[:n])
                F = layer.transform(X_test)
                recovery = dict(r2_hidden=explained_variance(F, H_test),
                                r2_relevant=explained_variance(F, H_relevant))
                print(f"seed {seed}  n {n:>6}  first filtered layer   R2(h) {recovery['r2_hidden']:.3f}"
                      f"  R2(relevant) {recovery['r2_relevant']:.3f}", flush=True)
            for name, (factory, filtered, n_max) in models.items():
                if n_max is not None and n > n_max:
                    continue
                start = time.perf_counter()
                model = factory(seed).fit(X[:n], y[:n])
                mse = float(np.mean((model.predict(X_test) - y_test) ** 2)) / var_test
                record = dict(model=name, seed=seed, n=n, nmse=mse, alpha=float(model.alpha_),
                              seconds=time.perf_counter() - start)
                if filtered:
                    record.update(recovery)
                    record["same_first_layer"] = bool(
                        np.array_equal(model.random_weights_[0], layer.random_weights_[0])
                        and np.allclose(model.components_[0], layer.components_[0]))
                records.append(record)
                print(f"seed {seed}  n {n:>6}  {name:<22} test MSE/Var {mse:.3f}  alpha {model.alpha_:.0e}"
                      f"  {record['seconds']:.1f} s", flush=True)
        if args.json:  # after every seed, so that an interrupted run keeps what it measured
            save(args, records)
    return records


def summarise(records, key):
    """{model: {n: (mean, std, count)}} of one measured quantity."""
    table = {}
    for r in records:
        if key in r:
            table.setdefault(r["model"], {}).setdefault(r["n"], []).append(r[key])
    return {model: {n: (float(np.mean(v)), float(np.std(v)), len(v)) for n, v in sorted(by_n.items())}
            for model, by_n in table.items()}


def print_table(records, key, title):
    table = summarise(records, key)
    if not table:
        return
    ns = sorted({n for by_n in table.values() for n in by_n})
    print(f"\n{title} (mean ± std over seeds)")
    print(f"{'model':<22}" + "".join(f"{n:>15}" for n in ns))
    for model, by_n in table.items():
        cells = [f"{by_n[n][0]:.3f} ± {by_n[n][1]:.3f}" if n in by_n else "-" for n in ns]
        print(f"{model:<22}" + "".join(f"{c:>15}" for c in cells))


def save(args, records):
    payload = dict(
        description=__doc__.split("\n\n")[0],
        command="python benchmarks/hierarchy.py " + " ".join(args.argv),
        settings={k: v for k, v in vars(args).items() if k not in ("argv", "json", "plot")},
        machine=platform.platform(),
        records=records,
        summary={key: {model: {str(n): v for n, v in by_n.items()} for model, by_n in summarise(records, key).items()}
                 for key in ("nmse", "r2_hidden", "r2_relevant")},
    )
    with open(args.json, "w") as f:
        json.dump(payload, f, indent=1)


def plot(records, path, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_mse, ax_rec) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"Neural LoFi": dict(marker="o"), "lazy RF": dict(marker="s", linestyle="--"),
              "deep NNGP": dict(marker="^", linestyle=":"), "kernel LoFi": dict(marker="v", linestyle="-.")}
    for model, by_n in summarise(records, "nmse").items():
        ns = np.array(list(by_n))
        mean, std = np.array([by_n[n][0] for n in ns]), np.array([by_n[n][1] for n in ns])
        style = next(s for prefix, s in styles.items() if model.startswith(prefix))
        line, = ax_mse.plot(ns, mean, label=model, **style)
        ax_mse.fill_between(ns, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    ax_mse.set_xscale("log")
    ax_mse.set_xlabel("training size n")
    ax_mse.set_ylabel("test MSE / Var(y)")
    ax_mse.set_ylim(0, 1.1)
    ax_mse.axhline(1.0, color="grey", linewidth=0.8)
    ax_mse.set_title(f"quadratic of quadratics, d = {args.d}, m = {args.hidden}")
    ax_mse.legend(fontsize=8)
    for key, linestyle, what in (("r2_hidden", "-", "all of h"), ("r2_relevant", "--", "relevant part of h")):
        for model, by_n in list(summarise(records, key).items())[:1]:  # both models share the first layer
            ns = np.array(list(by_n))
            mean, std = np.array([by_n[n][0] for n in ns]), np.array([by_n[n][1] for n in ns])
            ax_rec.errorbar(ns, mean, yerr=std, linestyle=linestyle, marker="o", capsize=3,
                            label=what)
    ax_rec.set_xscale("log")
    ax_rec.set_ylim(0, 1.05)
    ax_rec.set_xlabel("training size n")
    ax_rec.set_ylabel(f"R² of h from the first layer's K = {args.components} features")
    ax_rec.set_title("feature recovery (first filtered layer, test rows)")
    if ax_rec.get_legend_handles_labels()[0]:  # a run of kernel or lazy models only has no recovery to show
        ax_rec.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"figure written to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--d", type=int, default=12, help="input dimension")
    parser.add_argument("--hidden", type=int, default=2, help="number m of hidden quadratic features")
    parser.add_argument("--noise", type=float, default=0.0, help="label noise standard deviation")
    parser.add_argument("--ns", default="500,1000,2000,4000,8000,16000", help="training sizes")
    parser.add_argument("--n-test", type=int, default=3000, help="fresh test rows")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--width", type=int, default=2000, help="width P of every filtered (or lazy) lift")
    parser.add_argument("--head-width", type=int, default=3000)
    parser.add_argument("--degree", type=int, default=2,
                        help="Hermite degree of the filtered / lazy / NNGP layers (0: full ReLU); the head is full ReLU")
    parser.add_argument("--components", type=int, default=24, help="K of the first filtered layer")
    parser.add_argument("--components2", type=int, default=24, help="K of the second filtered layer")
    parser.add_argument("--nngp-max", type=int, default=4000, help="largest n for the O(n^3) deep NNGP")
    parser.add_argument("--models", default="", help="';'-separated subset of the model names")
    parser.add_argument("--load", nargs="+", metavar="JSON",
                        help="skip the fits: print the tables and draw the figure of stored JSON files (their "
                             "records together; runs of other models with the same settings)")
    parser.add_argument("--quick", action="store_true", help="tiny grid, a smoke test (< 45 s)")
    parser.add_argument("--json", help="write the measurements to this JSON file")
    parser.add_argument("--plot", help="write the figure to this PNG file")
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else __import__("sys").argv[1:]
    if args.quick:
        args.d, args.hidden, args.ns, args.n_test, args.seeds = 8, 2, "300,1200", 1000, 1
        args.width, args.head_width, args.components, args.components2, args.nngp_max = 400, 600, 12, 12, 1200
    stored = None
    if args.load:
        runs = []
        for path in args.load:
            with open(path) as f:
                runs.append(json.load(f))
            print(f"measurements of: {runs[-1]['command']}")
        for key, value in runs[0]["settings"].items():  # the header and the figure follow the stored runs
            if key not in ("load", "quick", "models"):
                if any(run["settings"].get(key) != value for run in runs):
                    parser.error(f"the stored runs differ in {key!r}")
                setattr(args, key, value)
        stored = {"records": [record for run in runs for record in run["records"]]}
    print(f"d = {args.d}, m = {args.hidden}, noise = {args.noise}, P = {args.width}, head = {args.head_width}, "
          f"degree = {args.degree or 'full ReLU'}, "
          f"K = ({args.components}, {args.components2}), {args.seeds} seeds, {args.n_test} test rows")
    start = time.perf_counter()
    records = stored["records"] if stored else run(args)
    print_table(records, "nmse", "test MSE / Var(y)")
    print_table(records, "r2_hidden", "R^2 of the hidden features h from the first layer's features")
    print_table(records, "r2_relevant", "R^2 of the y-relevant part of h from the first layer's features")
    if args.json and not stored:
        save(args, records)
    if args.plot:
        plot(records, args.plot, args)
    print(f"wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
