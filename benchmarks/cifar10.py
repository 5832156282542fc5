"""CIFAR-10 animal versus vehicle: Neural LoFi against its lazy baselines.

The paper's main real-data comparison (doc/paper/cifar10.rst): binary
CIFAR-10, vehicles (airplane, automobile, ship, truck) = +1 against animals
= -1, regression on the +-1 targets; test MSE of the predictions and test
error of their sign (a prediction >= 0 counts as vehicle).

Data: ``sklearn_lofi.datasets.load_cifar10`` on the offline files
(``--data``; by default ``<repo>/../shared/data/cifar10``). For each training
size ``n`` and seed ``s``, the training images are the class-stratified random
subset of ``n`` images of the train split drawn with ``random_state=s``; the
test images are one fixed subset of ``--n-test`` images of the test split
(``random_state=0``). Pixels are divided by 255 and standardised per feature
with a ``StandardScaler`` fitted on the training subset (the paper
standardises per channel with fixed CIFAR statistics; per-feature scaling
fitted on the training rows is the scikit-learn equivalent that uses no test
information, and the lifts' RMS normalisation removes any global scale).

Models (all regressors on the +-1 targets):

* Neural LoFi: ``NeuralLoFiRegressor(n_layers=2, width=P, n_components=K,
  head_width=P_head)``: two filtered ReLU layers, the plain random-feature
  head, leave-one-out ridge readout (the paper's "filter, filter, plain,
  readout" architecture). ``K`` is chosen per (n, seed) from ``--components``
  by a hold-out split of the training subset (80% fit / 20% validation,
  stratified, seeded by s; lowest validation MSE), then the model is refitted
  on the whole training subset. The test set is never used for the choice.
* Lazy random features: ``RandomFeatureBaselineRegressor(n_layers=2,
  width=P, head_width=P_head)``, the same stack without filtering, same seed.
* Deep NNGP: ``DeepNNGPRegressor(n_layers=2)``, the infinite-width limit of
  the lazy stack (two NNGP layers, the head's kernel, kernel ridge with
  leave-one-out alpha).
* Kernel LoFi: ``KernelLoFiRegressor(n_layers=2, n_components=K)``, the
  infinite-width limit of the Neural LoFi model (width and head width to
  infinity), with the K chosen for the finite model (not tuned again): it
  tells whether a gap to the deep NNGP is a finite-width effect.
* Ridge on pixels: ``RidgeCV(alphas=logspace(-2, 6, 33))`` (leave-one-out).

Every random-feature model uses ``random_state=s``. For each (n, seed) the
script also records the test MSE and error of the Neural LoFi model fitted
on the 80% part for every K (a diagnostic of the K dependence; not used to
choose anything).

Full run (about 30 minutes on 2 shared cores)::

    python benchmarks/cifar10.py --json benchmarks/results/cifar10.json \\
        --plot doc/_static/cifar10.png

Test scores at every K of a grid, for Neural LoFi and kernel Neural LoFi,
beside the deep NNGP (K read off the test set, as the paper's protocol does;
about 3 minutes)::

    python benchmarks/cifar10.py --sweep-k --sizes 1000 --seeds 2 --components 5,10,20,50 \\
        --json benchmarks/results/cifar10_k_sweep.json

Small version (the decoded .npz subset, under a minute)::

    python benchmarks/cifar10.py --quick
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

from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_lofi import (
    DeepNNGPRegressor,
    KernelLoFiRegressor,
    NeuralLoFiRegressor,
    RandomFeatureBaselineRegressor,
)
from sklearn_lofi.datasets import load_cifar10

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"
ALL_MODELS = ["Neural LoFi", "Random features", "Deep NNGP", "Kernel LoFi", "Ridge on pixels"]
MODELS = list(ALL_MODELS)  # the models run (``--models``); Neural LoFi always is, it chooses K
LAZY = ["Random features", "Deep NNGP"]
# Orders of magnitude from a follow-up repository (IdePHICS/BackLoFi-theory,
# data/test_error_vs_n_ffn.csv; other architectures, 10000 test images): not this paper's numbers.
ORIENTATION = {500: {"forward LoFi (width 128)": 0.189, "random-features network": 0.199, "ridge on pixels": 0.210},
               5000: {"forward LoFi (width 512)": 0.147}}


def load(data, source, split, n, seed):
    X, y = load_cifar10(data, split=split, source=source, animal_vs_vehicle=True, n_samples=n, random_state=seed,
                        return_X_y=True)
    return X / 255.0, 2.0 * y - 1.0


def training_subset(args, n, seed, X_test):
    """The seed's n training images and targets, standardised, and the test images on the same scale."""
    X, y = load(args.data, args.source, "train", n, seed)
    scaler = StandardScaler().fit(X)
    return scaler.transform(X), y, scaler.transform(X_test)


def scores(model, X, y):
    prediction = model.predict(X)
    return float(np.mean((prediction - y) ** 2)), float(np.mean(np.where(prediction >= 0, 1.0, -1.0) != y))


def lofi(width, head_width, K, seed):
    return NeuralLoFiRegressor(n_layers=2, width=width, n_components=K, head_width=head_width, random_state=seed)


def choose_components(X, y, X_test, y_test, grid, width, head_width, seed):
    """K with the lowest MSE on a 20% hold-out of the training rows, and the per-K diagnostics."""
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    per_k = []
    for K in grid:
        if K >= len(y_fit) // 2:  # a layer keeps at most the operator's rank; K near n only overfits
            continue
        model = lofi(width, head_width, K, seed).fit(X_fit, y_fit)
        val_mse, val_err = scores(model, X_val, y_val)
        test_mse, test_err = scores(model, X_test, y_test)
        per_k.append(dict(K=K, val_mse=val_mse, val_error=val_err, test_mse_fit80=test_mse, test_error_fit80=test_err))
    best = min(per_k, key=lambda row: row["val_mse"])["K"]
    return best, per_k


def run_one(args, n, seed, X_test, y_test, log):
    X, y, X_te = training_subset(args, n, seed, X_test)
    record = dict(n=n, seed=seed)

    start = time.perf_counter()
    K, per_k = choose_components(X, y, X_te, y_test, args.components, args.width, args.head_width, seed)
    record["K_validation"] = per_k
    record["K"] = K
    fitted = {
        "Neural LoFi": lofi(args.width, args.head_width, K, seed),
        "Random features": RandomFeatureBaselineRegressor(n_layers=2, width=args.width, head_width=args.head_width,
                                                          random_state=seed),
        "Deep NNGP": DeepNNGPRegressor(n_layers=2),
        "Kernel LoFi": KernelLoFiRegressor(n_layers=2, n_components=K, random_state=seed),
        "Ridge on pixels": RidgeCV(alphas=np.logspace(-2, 6, 33)),
    }
    record["K_selection_seconds"] = time.perf_counter() - start
    for name, model in fitted.items():
        if name not in MODELS:
            continue
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
        mse, err = scores(model, X_te, y_test)
        record[name] = dict(mse=mse, error=err, fit_seconds=seconds)
        log(f"n={n:5d} seed={seed} {name:<16} test MSE {mse:.4f}  error {err:.4f}  "
            f"({seconds:.1f} s{f', K={K}' if 'LoFi' in name else ''})")
    return record


def sweep_components(args, n, seed, X_test, y_test, log):
    """Test scores of Neural LoFi and kernel Neural LoFi at every K of the grid, and of the deep NNGP.

    The paper's protocol (best K read off the test set): optimistic, a diagnostic of the K dependence.
    """
    X, y, X_te = training_subset(args, n, seed, X_test)
    record = dict(n=n, seed=seed, per_K=[])
    record["Deep NNGP"] = dict(zip(("mse", "error"), scores(DeepNNGPRegressor(n_layers=2).fit(X, y), X_te, y_test)))
    log(f"n={n:5d} seed={seed} Deep NNGP         test MSE {record['Deep NNGP']['mse']:.4f}  "
        f"error {record['Deep NNGP']['error']:.4f}")
    for K in args.components:
        row = dict(K=K)
        for name, model in (("Neural LoFi", lofi(args.width, args.head_width, K, seed)),
                            ("Kernel LoFi", KernelLoFiRegressor(n_layers=2, n_components=K, random_state=seed))):
            row[name] = dict(zip(("mse", "error"), scores(model.fit(X, y), X_te, y_test)))
            log(f"n={n:5d} seed={seed} {name:<16} K={K:<4d} test MSE {row[name]['mse']:.4f}  "
                f"error {row[name]['error']:.4f}")
        record["per_K"].append(row)
    return record


def summarise(records, sizes):
    table = {}
    for n in sizes:
        rows = [r for r in records if r["n"] == n]
        table[n] = {}
        for name in MODELS:
            for metric in ("mse", "error"):
                values = np.array([r[name][metric] for r in rows])
                sem = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")
                table[n][(name, metric)] = (float(values.mean()), sem)
        table[n]["K"] = [r["K"] for r in rows]
        # paired by seed: the same training images and test images for every model
        for lazy in (m for m in LAZY if m in MODELS):
            for metric in ("mse", "error"):
                diff = np.array([r["Neural LoFi"][metric] - r[lazy][metric] for r in rows])
                sem = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
                table[n][("diff", lazy, metric)] = (float(diff.mean()), sem)
    return table


def print_table(table, sizes):
    print()
    print("Test MSE and test error (mean +- SEM over seeds)")
    header = f"{'n':>6}  " + "  ".join(f"{name:>24}" for name in MODELS)
    print(header)
    for n in sizes:
        mse = "  ".join(f"{'MSE %.4f +- %.4f' % table[n][(name, 'mse')]:>24}" for name in MODELS)
        err = "  ".join(f"{'err %.2f%% +- %.2f' % tuple(100 * v for v in table[n][(name, 'error')]):>24}"
                        for name in MODELS)
        print(f"{n:>6}  {mse}")
        print(f"{'':>6}  {err}   (K chosen: {table[n]['K']})")
    print()
    print("Neural LoFi minus lazy baseline, paired over seeds (negative = Neural LoFi better)")
    for n in sizes:
        parts = []
        for lazy in (m for m in LAZY if m in MODELS):
            m, s = table[n][("diff", lazy, "mse")]
            e, es = table[n][("diff", lazy, "error")]
            parts.append(f"vs {lazy}: MSE {m:+.4f} +- {s:.4f}, error {100 * e:+.2f} +- {100 * es:.2f} pts")
        print(f"{n:>6}  " + ";  ".join(parts))
    print()
    print("Orientation (follow-up repository, other architectures; not this paper's numbers):")
    for n, entries in ORIENTATION.items():
        print(f"{n:>6}  " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in entries.items()))


def plot(table, sizes, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    styles = {"Neural LoFi": ("C0", "o"), "Random features": ("C1", "s"), "Deep NNGP": ("C2", "^"),
              "Kernel LoFi": ("C3", "v"), "Ridge on pixels": ("C7", "D")}
    for ax, metric, label in ((axes[0], "error", "test error (%)"), (axes[1], "mse", "test MSE")):
        scale = 100.0 if metric == "error" else 1.0
        for name in MODELS:
            mean = np.array([table[n][(name, metric)][0] for n in sizes]) * scale
            sem = np.array([table[n][(name, metric)][1] for n in sizes]) * scale
            color, marker = styles[name]
            ax.errorbar(sizes, mean, yerr=np.nan_to_num(sem), color=color, marker=marker, capsize=3, label=name)
        if metric == "error":
            shown = [n for n in ORIENTATION if n in sizes]  # only at training sizes of this run
            for n in shown:
                for i, value in enumerate(ORIENTATION[n].values()):
                    ax.plot([n], [100 * value], marker="x", color="k", linestyle="none",
                            label="follow-up repo (orientation)" if (n, i) == (shown[0], 0) else None)
        ax.set_xscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(n) for n in sizes])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # the log axis labels minor ticks too
        ax.set_xlabel("training images n")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("CIFAR-10 animal vs vehicle (mean +- SEM over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"figure written to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the CIFAR-10 files")
    parser.add_argument("--source", default="auto", choices=["auto", "npz", "jpeg"])
    parser.add_argument("--sizes", default="500,1000,2000,5000", help="training sizes, comma-separated")
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--width", type=int, default=2048, help="width P of the filtered/lazy layers")
    parser.add_argument("--head-width", type=int, default=4096)
    parser.add_argument("--components", default="50,100,200", help="K grid, comma-separated")
    parser.add_argument("--models", default=",".join(ALL_MODELS),
                        help="models to run, comma-separated (Neural LoFi always runs)")
    parser.add_argument("--quick", action="store_true", help="small version on the decoded .npz subset")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--sweep-k", action="store_true",
                        help="instead of the comparison: test scores of Neural LoFi and kernel Neural LoFi at every "
                             "K of --components (K read off the test set, as the paper does), with the deep NNGP")
    parser.add_argument("--load", type=Path, metavar="JSON",
                        help="print the table and draw the figure of a stored result instead of running")
    args = parser.parse_args(argv)
    if args.load:
        stored = json.loads(args.load.read_text())
        if "setup" not in stored:
            parser.error(f"{args.load} is not a stored comparison (a --sweep-k result holds its numbers in "
                         "'records', per K)")
        print(f"measurements of: {stored['setup']['command']}")
        MODELS[:] = stored["setup"].get("models", ALL_MODELS)
        sizes = stored["setup"]["sizes"]
        table = summarise(stored["records"], sizes)
        print_table(table, sizes)
        if args.plot:
            plot(table, sizes, args.plot)
        return
    if args.quick:
        args.source, args.sizes, args.n_test, args.seeds = "npz", "200,400", 500, 2
        args.width, args.head_width, args.components = 512, 1024, "20,50"
    unknown = set(args.models.split(",")) - set(ALL_MODELS)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; choose from {ALL_MODELS}")
    MODELS[:] = [m for m in ALL_MODELS if m == "Neural LoFi" or m in args.models.split(",")]
    args.sizes = [int(v) for v in args.sizes.split(",")]
    args.components = [int(v) for v in args.components.split(",")]
    if not args.data.exists():
        sys.exit(f"CIFAR-10 data not found at {args.data}; pass --data")

    print(f"CIFAR-10 animal vs vehicle from {args.data} (source={args.source}); sizes {args.sizes}, "
          f"{args.n_test} test images, seeds 0..{args.seeds - 1}, P={args.width}, head {args.head_width}, "
          f"K grid {args.components}", flush=True)
    wall = time.perf_counter()
    X_test, y_test = load(args.data, args.source, "test", args.n_test, 0)
    if args.sweep_k:
        records = [sweep_components(args, n, seed, X_test, y_test, lambda line: print(line, flush=True))
                   for n in args.sizes for seed in range(args.seeds)]
        if args.json:
            command = " ".join(["python", "benchmarks/cifar10.py", *(argv if argv is not None else sys.argv[1:])])
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(dict(command=command, width=args.width, head_width=args.head_width,
                                                 n_test=args.n_test, records=records,
                                                 wall_seconds=time.perf_counter() - wall), indent=1))
            print(f"results written to {args.json}")
        return
    records = []
    for n in args.sizes:
        for seed in range(args.seeds):
            records.append(run_one(args, n, seed, X_test, y_test, lambda line: print(line, flush=True)))
    wall = time.perf_counter() - wall
    table = summarise(records, args.sizes)
    print_table(table, args.sizes)
    print(f"\ntotal wall time {wall:.0f} s")

    if args.json:
        out = dict(
            setup=dict(data=str(args.data), source=args.source, sizes=args.sizes, n_test=args.n_test,
                       seeds=args.seeds, models=MODELS, width=args.width, head_width=args.head_width, components=args.components,
                       quick=args.quick, preprocessing="pixels/255, StandardScaler fitted on the training subset",
                       K_choice="lowest MSE on a stratified 20% hold-out of the training subset",
                       command=" ".join(["python", "benchmarks/cifar10.py", *(argv if argv is not None
                                                                                 else sys.argv[1:])])),
            records=records,
            summary={str(n): {f"{name}|{metric}": dict(mean=table[n][(name, metric)][0],
                                                       sem=table[n][(name, metric)][1])
                              for name in MODELS for metric in ("mse", "error")}
                     | {f"Neural LoFi - {lazy}|{metric}": dict(mean=table[n][("diff", lazy, metric)][0],
                                                               sem=table[n][("diff", lazy, metric)][1])
                        for lazy in LAZY if lazy in MODELS for metric in ("mse", "error")}
                     | {"K_chosen": table[n]["K"]}
                     for n in args.sizes},
            orientation={str(n): v for n, v in ORIENTATION.items()},
            wall_seconds=wall,
        )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))
        print(f"results written to {args.json}")
    if args.plot:
        plot(table, args.sizes, args.plot)


if __name__ == "__main__":
    main()
