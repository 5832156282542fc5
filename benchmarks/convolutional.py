"""Convolutional against fully connected Neural LoFi on digits and CIFAR-10 animal vs vehicle.

Models (each ends with a random-feature head of 4096 and the leave-one-out ridge readout):

- ``fc``: ``NeuralLoFiClassifier`` with two filtered fully connected layers (the paper's architecture);
- ``conv``: ``ConvLoFiTransformer`` (random convolution + signed 1 x 1 filter, average pooled) then the head;
- ``conv_plain``: the same with the label-free filter (``operator="plain"``), to isolate what the labels add.

Digits: 10 classes, stratified 5-fold cross-validation. CIFAR-10: animal vs vehicle, random training subsets of
the train split, a fixed subset of the test split (JPEG archives; needs Pillow), several seeds (subset and random
features). Pixels are scaled to [0, 1] and the training mean image is subtracted. Run from the repository root::

    python benchmarks/convolutional.py --json benchmarks/results/convolutional.json --plot doc/_static/conv_filters.png

``--plot`` also saves the signed 3 x 3 patch eigenfilters (identity activation, as the paper's patch
eigenfilters) of the largest CIFAR-10 training set, against the label-free ones
(``sklearn_lofi.inspection.FilterDisplay``).
"""

import argparse
import json
import os
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from sklearn_lofi import ConvLoFiTransformer, NeuralLoFiClassifier
from sklearn_lofi.datasets import load_cifar10

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.pardir, "shared", "data",
                    "cifar10")


def models(kind, seed, head_width):
    if kind == "digits":
        conv = dict(image_shape=(8, 8, 1), patch_size=3, width=128, n_components=16, pool=2)
        fc = dict(n_layers=2, width=1024, n_components=32)
    else:
        conv = dict(image_shape=(32, 32, 3), patch_size=5, width=256, n_components=16, pool=4)
        fc = dict(n_layers=2, width=2048, n_components=64)
    head = dict(n_layers=0, head_width=head_width, random_state=seed)
    return {
        "fc": NeuralLoFiClassifier(**fc, head_width=head_width, random_state=seed),
        "conv": make_pipeline(ConvLoFiTransformer(**conv, random_state=seed), NeuralLoFiClassifier(**head)),
        "conv_plain": make_pipeline(ConvLoFiTransformer(**conv, operator="plain", random_state=seed),
                                    NeuralLoFiClassifier(**head)),
    }


def preprocess(X_train, X_test):
    X_train = X_train.astype(np.float32) / 255 if X_train.dtype == np.uint8 else X_train.astype(np.float32) / 16
    X_test = X_test.astype(np.float32) / 255 if X_test.dtype == np.uint8 else X_test.astype(np.float32) / 16
    mean = X_train.mean(axis=0)
    return X_train - mean, X_test - mean


def evaluate(kind, X_train, y_train, X_test, y_test, seed, head_width):
    X_train, X_test = preprocess(X_train, X_test)
    out = {}
    for name, model in models(kind, seed, head_width).items():
        start = time.perf_counter()
        model.fit(X_train, y_train)
        out[name] = {"error": float(np.mean(model.predict(X_test) != y_test)),
                     "fit_seconds": time.perf_counter() - start}
    return out


def summarise(runs):
    names = runs[0].keys()
    return {name: {"error_mean": float(np.mean([r[name]["error"] for r in runs])),
                   "error_sem": float(np.std([r[name]["error"] for r in runs], ddof=1) / np.sqrt(len(runs)))
                   if len(runs) > 1 else 0.0,
                   "fit_seconds": float(np.mean([r[name]["fit_seconds"] for r in runs]))} for name in names}


def print_row(label, summary):
    cells = "  ".join(f"{name} {s['error_mean']:.4f} ± {s['error_sem']:.4f} ({s['fit_seconds']:.0f} s)"
                      for name, s in summary.items())
    print(f"{label:>14}  {cells}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="500,2000,5000", help="CIFAR-10 training set sizes")
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--head-width", type=int, default=4096)
    parser.add_argument("--data", default=DATA, help="folder of the CIFAR-10 files")
    parser.add_argument("--quick", action="store_true", help="digits on 2 folds and CIFAR n=200 from the .npz")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--plot", help="save the CIFAR-10 patch filters to this image file (needs matplotlib)")
    parser.add_argument("--filters-only", action="store_true", help="skip the scores: only --plot")
    args = parser.parse_args(argv)
    head_width = 512 if args.quick else args.head_width
    results = {"head_width": head_width}

    if args.filters_only:
        return plot_filters(args)
    X, y = load_digits(return_X_y=True)
    folds = StratifiedKFold(2 if args.quick else 5, shuffle=True, random_state=0)
    runs = [evaluate("digits", X[train], y[train], X[test], y[test], fold, head_width)
            for fold, (train, test) in enumerate(folds.split(X, y))]
    results["digits"] = summarise(runs)
    print("test error, mean ± SEM (mean fit time)")
    print_row("digits 10-way", results["digits"])

    if not os.path.isdir(args.data):
        print(f"CIFAR-10 skipped: no folder {args.data}")
    else:
        source = "npz" if args.quick else "jpeg"
        sizes = [200] if args.quick else [int(s) for s in args.sizes.split(",")]
        n_test = 300 if args.quick else args.n_test
        X_test, y_test = load_cifar10(args.data, split="test", source=source, animal_vs_vehicle=True,
                                      n_samples=n_test, random_state=0, return_X_y=True)
        results["cifar10"] = {}
        for n in sizes:
            runs = []
            for seed in range(1 if args.quick else args.seeds):
                X_train, y_train = load_cifar10(args.data, split="train", source=source, animal_vs_vehicle=True,
                                                n_samples=n, random_state=seed, return_X_y=True)
                runs.append(evaluate("cifar10", X_train, y_train, X_test, y_test, seed, head_width))
            results["cifar10"][n] = summarise(runs)
            print_row(f"CIFAR n={n}", results["cifar10"][n])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.plot:
        plot_filters(args)


def plot_filters(args):
    import matplotlib

    matplotlib.use("Agg")
    from sklearn_lofi.inspection import FilterDisplay

    source = "npz" if args.quick else "jpeg"
    n = 200 if args.quick else max(int(s) for s in args.sizes.split(","))
    X, y = load_cifar10(args.data, split="train", source=source, animal_vs_vehicle=True, n_samples=n,
                        random_state=0, return_X_y=True)
    X, _ = preprocess(X, X[:1])
    conv = ConvLoFiTransformer(image_shape=(32, 32, 3), patch_size=3, stride=2, width=1024, n_components=9,
                               activation="identity", random_state=0).fit(X, y)
    display = FilterDisplay.from_estimator(conv, X, y)
    display.ax_.set_title(f"CIFAR-10 animal vs vehicle, n = {n}: signed (top) and label-free (bottom) 3 x 3 filters")
    display.figure_.savefig(args.plot, dpi=110, bbox_inches="tight")
    print(f"filters saved to {args.plot}; signed eigenvalues {[round(float(v), 5) for v in display.eigenvalues]}, "
          f"label-free {[round(float(v), 5) for v in display.label_free_eigenvalues]}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"wall time {time.perf_counter() - start:.0f} s")
