"""Real-data report: Neural LoFi against its lazy baseline and what users pick instead.

Protocol (the one of ``research/peers.md``, so the numbers sit side by side):

* 5-fold cross-validation, the same shuffled folds for every model:
  ``StratifiedKFold(5, shuffle=True, random_state=0)`` for classification,
  ``KFold`` for regression;
* at most 10 000 rows per set (a random subsample drawn with seed 0; the report
  names the subsampled sets);
* preprocessing: ``StandardScaler`` on numeric columns, one-hot on string
  columns (``sklearn_lofi._data.make_preprocessor``); the target of
  ``537_houses`` is ``log1p``-transformed;
* score: accuracy or R^2, mean ± std over folds, with the median fit time of
  one fold in seconds.

Models: ``lofi`` (NeuralLoFiClassifier/Regressor, default parameters unless
``--lofi-params``), ``baseline`` (RandomFeatureBaselineClassifier/Regressor at
the same width, head width, depth, degree, activation and alpha), ``ridge``
(RidgeClassifierCV/RidgeCV, alphas logspace(-3, 3, 13)), ``mlp``
(MLPClassifier/MLPRegressor, max_iter=300, random_state=0) and ``nystroem``
(Nystroem(n_components=1000, random_state=0) + the same ridge; with fewer
training rows, Nystroem uses one component per row). On request (not in the
default run): ``kernel_lofi`` (KernelLoFiClassifier/Regressor, the
infinite-width Neural LoFi with the same depth, components, degree,
activation and alpha) and ``deep_nngp`` (DeepNNGPClassifier/Regressor, the
infinite-width lazy baseline); their cost grows as n^3, so the kernel report
uses the sets with at most 5000 rows::

    python benchmarks/real_data.py --datasets breast_cancer,digits,spambase,segmentation,credit-g \
        --models kernel_lofi,deep_nngp,lofi,baseline --out kernel.rst --json kernel.json

Usage::

    python benchmarks/real_data.py                       # everything, ~ tens of minutes
    python benchmarks/real_data.py --quick               # smoke test: 2 folds, <= 1000 rows
    python benchmarks/real_data.py --datasets digits,letter --models lofi,baseline \\
        --lofi-params '{"width": 2048, "degree": 2}' --out /tmp/report.rst

The table goes to stdout, progress to stderr. Only the standard library,
NumPy, scikit-learn and sklearn_lofi are needed.
"""

import argparse
import json
import os
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
try:
    import sklearn_lofi
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_ROOT))
    import sklearn_lofi

import sklearn
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline

from sklearn_lofi import (
    DeepNNGPClassifier,
    DeepNNGPRegressor,
    KernelLoFiClassifier,
    KernelLoFiRegressor,
    NeuralLoFiClassifier,
    NeuralLoFiRegressor,
    RandomFeatureBaselineClassifier,
    RandomFeatureBaselineRegressor,
)
from sklearn_lofi._data import as_model_input, load_table, make_preprocessor, subsample

DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
SEED = 0
ALPHAS = np.logspace(-3, 3, 13)
MODELS = ("lofi", "baseline", "ridge", "mlp", "nystroem", "kernel_lofi", "deep_nngp")
DEFAULT_MODELS = MODELS[:5]
#: Parameters of the Neural LoFi estimators that the lazy baseline shares.
BASELINE_KEYS = ("n_layers", "width", "degree", "activation", "head_width", "alpha", "random_state")
#: ... that the infinite-width estimators share (they have no widths).
KERNEL_LOFI_KEYS = ("n_layers", "n_components", "degree", "activation", "alpha", "label_centering", "selection",
                    "random_state")
NNGP_KEYS = ("n_layers", "degree", "activation", "alpha")

# name -> (source, target column, task, transform of y). ``source`` is a file under
# --data-dir or a scikit-learn loader.
DATASETS = {
    "breast_cancer": (load_breast_cancer, None, "clf", None),
    "digits": (load_digits, None, "clf", None),
    "phoneme": ("phoneme/phoneme.tsv.gz", "target", "clf", None),
    "spambase": ("spambase/spambase.tsv.gz", "target", "clf", None),
    "magic": ("magic/magic.tsv.gz", "target", "clf", None),
    "segmentation": ("segmentation/segmentation.tsv.gz", "target", "clf", None),
    "satimage": ("satimage/satimage.tsv.gz", "target", "clf", None),
    "letter": ("letter/letter.tsv.gz", "target", "clf", None),
    "credit-g": ("credit-g/credit-g.csv.gz", "class", "clf", None),
    "197_cpu_act": ("197_cpu_act/197_cpu_act.tsv.gz", "target", "reg", None),
    "537_houses": ("537_houses/537_houses.tsv.gz", "target", "reg", "log1p"),
    "503_wind": ("503_wind/503_wind.tsv.gz", "target", "reg", None),
    # Not in the default report; available with --datasets.
    "adult": ("adult/adult.tsv.gz", "target", "clf", None),
    "bank-marketing": ("bank-marketing/bank-marketing.csv.gz", "Class", "clf", None),
    "pendigits": ("pendigits/pendigits.tsv.gz", "target", "clf", None),
    "fars": ("fars/fars.tsv.gz", "target", "clf", None),
    "201_pol": ("201_pol/201_pol.tsv.gz", "target", "reg", None),
    "abalone": ("abalone/abalone.data.gz", "Rings", "reg", None),
}
DEFAULT_DATASETS = list(DATASETS)[:12]


def progress(message):
    print(message, file=sys.stderr, flush=True)


def load(name, data_dir):
    """X (model input), y, categorical mask and the number of rows in the source."""
    source, target, _, transform = DATASETS[name]
    if callable(source):
        X, y = source(return_X_y=True)
        X, categorical = X.astype(np.float64), np.zeros(X.shape[1], dtype=bool)
    else:
        path = Path(data_dir) / source
        table = load_table(path, target)
        X, y, categorical = as_model_input(table.X, table.categorical), table.y, table.categorical
    if transform == "log1p":
        y = np.log1p(y)
    return X, y, categorical


def build_models(names, task, categorical, lofi_params):
    clf = task == "clf"
    lofi_kwargs = {"random_state": SEED, **lofi_params}
    baseline_kwargs = {k: v for k, v in lofi_kwargs.items() if k in BASELINE_KEYS}
    kernel_kwargs = {k: v for k, v in lofi_kwargs.items() if k in KERNEL_LOFI_KEYS}
    nngp_kwargs = {k: v for k, v in lofi_kwargs.items() if k in NNGP_KEYS}
    ridge = lambda: (RidgeClassifierCV if clf else RidgeCV)(alphas=ALPHAS)  # noqa: E731
    make = {
        "lofi": lambda: [("model", (NeuralLoFiClassifier if clf else NeuralLoFiRegressor)(**lofi_kwargs))],
        "baseline": lambda: [
            ("model", (RandomFeatureBaselineClassifier if clf else RandomFeatureBaselineRegressor)(**baseline_kwargs))
        ],
        "ridge": lambda: [("model", ridge())],
        "mlp": lambda: [("model", (MLPClassifier if clf else MLPRegressor)(max_iter=300, random_state=SEED))],
        "nystroem": lambda: [("nystroem", Nystroem(n_components=1000, random_state=SEED)), ("model", ridge())],
        "kernel_lofi": lambda: [("model", (KernelLoFiClassifier if clf else KernelLoFiRegressor)(**kernel_kwargs))],
        "deep_nngp": lambda: [("model", (DeepNNGPClassifier if clf else DeepNNGPRegressor)(**nngp_kwargs))],
    }
    return {name: Pipeline([("preprocess", make_preprocessor(categorical)), *make[name]()]) for name in names}


def evaluate(pipeline, X, y, splits, scoring, n_jobs):
    """Fold scores, fit times and the distinct warnings raised (sequential runs only)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)  # MLP at max_iter=300, by protocol
        # Nystroem on fewer than 1000 training rows uses one component per row, as intended.
        warnings.filterwarnings("ignore", message="n_components > n_samples", category=UserWarning)
        result = cross_validate(pipeline, X, y, cv=splits, scoring=scoring, n_jobs=n_jobs, error_score="raise")
    messages = []
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0] if str(w.message) else ''}"
        if text not in messages:
            messages.append(text)
    return result["test_score"], result["fit_time"], messages


def cell(entry):
    if entry is None:
        return ""
    if "error" in entry:
        return f"failed ({entry['error']})"
    scores, times = np.asarray(entry["scores"]), np.asarray(entry["fit_times"])
    return f"{scores.mean():.3f} ± {scores.std():.3f} ({np.median(times):.1f}s)"


def rst_table(rows, header):
    """An RST simple table (also readable as plain text)."""
    widths = [max(len(str(r[j])) for r in [header, *rows]) for j in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([rule, fmt(header), rule, *map(fmt, rows), rule])


def report_rows(results, datasets, models):
    rows = []
    for name in datasets:
        info = results.get(name)
        if info is None:
            continue
        cells = [cell(info["models"].get(m)) for m in models]
        # bold the best mean score of the row
        means = [np.mean(info["models"][m]["scores"]) if "scores" in info["models"].get(m, {}) else -np.inf
                 for m in models]
        if np.isfinite(max(means)):
            best = int(np.argmax(means))
            cells[best] = f"**{cells[best].split(' (')[0]}** ({cells[best].split(' (')[1]}"
        n = str(info["n"]) if info["n"] == info["n_total"] else f"{info['n']} of {info['n_total']}"
        rows.append([name, info["task"], n, *cells])
    return rows


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Cross-validate Neural LoFi, its lazy baseline, ridge, MLP and Nystroem+ridge on real data.",
    )
    parser.add_argument(
        "--datasets",
        default=",".join(DEFAULT_DATASETS),
        help=f"comma list (default: the 12 report sets). Known: {', '.join(DATASETS)}",
    )
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help=f"comma list among {','.join(MODELS)} (default: {','.join(DEFAULT_MODELS)})")
    parser.add_argument(
        "--lofi-params",
        default="{}",
        metavar="JSON",
        help="dict of Neural LoFi parameters, e.g. '{\"width\": 2048, \"degree\": 2}'; the baseline gets the "
        f"keys it shares ({', '.join(BASELINE_KEYS)})",
    )
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="folder of the shared data sets")
    parser.add_argument("--out", metavar="FILE.rst", help="write the table, protocol and command line as RST")
    parser.add_argument("--json", metavar="FILE", help="write per-fold scores and fit times as JSON")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 folds, at most 1000 rows")
    parser.add_argument("--folds", type=int, default=None, help="folds (default 5, or 2 with --quick)")
    parser.add_argument("--max-rows", type=int, default=None, help="row cap (default 10000, or 1000 with --quick)")
    parser.add_argument("--n-jobs", type=int, default=None, help="n_jobs of cross_validate (folds in parallel)")
    args = parser.parse_args(argv)

    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in args.datasets if d not in DATASETS]
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; known: {', '.join(DATASETS)}")
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in MODELS]
    if unknown or not args.models:
        parser.error(f"--models: choose among {','.join(MODELS)}")
    try:
        args.lofi_params = json.loads(args.lofi_params)
    except json.JSONDecodeError as exc:
        parser.error(f"--lofi-params is not valid JSON: {exc}")
    if not isinstance(args.lofi_params, dict):
        parser.error("--lofi-params must be a JSON object, e.g. '{\"width\": 512}'")
    if args.folds is None:
        args.folds = 2 if args.quick else 5
    if args.max_rows is None:
        args.max_rows = 1000 if args.quick else 10_000
    if args.folds < 2 or args.max_rows < args.folds:
        parser.error("need --folds >= 2 and --max-rows >= --folds")
    return args


def main(argv=None):
    args = parse_args(argv)
    script = sys.argv[0] if argv is None else "benchmarks/real_data.py"
    command = shlex.join(["python", script, *(sys.argv[1:] if argv is None else argv)])
    start = time.perf_counter()
    results = {}
    for name in args.datasets:
        task = DATASETS[name][2]
        try:
            X, y, categorical = load(name, args.data_dir)
        except (OSError, ValueError) as exc:
            progress(f"[{name}] skipped: {exc}")
            continue
        n_total = len(y)
        rows = subsample(n_total, args.max_rows, SEED)
        X, y = X[rows], y[rows]
        if task == "clf":
            cv = StratifiedKFold(args.folds, shuffle=True, random_state=SEED)
        else:
            cv = KFold(args.folds, shuffle=True, random_state=SEED)
        splits = list(cv.split(np.zeros(len(y)), y))
        scoring = "accuracy" if task == "clf" else "r2"
        progress(
            f"[{name}] {task}, {len(y)} rows"
            + (f" (subsampled from {n_total})" if len(y) < n_total else "")
            + f", {X.shape[1]} columns ({int(categorical.sum())} categorical), {args.folds} folds"
        )
        info = {"task": task, "n": len(y), "n_total": n_total, "n_features": X.shape[1], "models": {}}
        results[name] = info
        for model_name, pipeline in build_models(args.models, task, categorical, args.lofi_params).items():
            t0 = time.perf_counter()
            try:
                scores, fit_times, messages = evaluate(pipeline, X, y, splits, scoring, args.n_jobs)
            except Exception as exc:  # keep going: one failure must not lose the whole report
                detail = str(exc).strip().splitlines()
                progress(f"[{name}] {model_name}: FAILED {type(exc).__name__}: {detail[0] if detail else ''}")
                info["models"][model_name] = {"error": type(exc).__name__, "message": detail[0] if detail else ""}
                continue
            entry = {"scores": scores.tolist(), "fit_times": fit_times.tolist(), "warnings": messages}
            info["models"][model_name] = entry
            progress(
                f"[{name}] {model_name}: {cell(entry)}, {time.perf_counter() - t0:.1f} s for {args.folds} folds"
            )
            for message in messages:
                progress(f"[{name}] {model_name} warning: {message}")
    wall = time.perf_counter() - start

    header = ["dataset", "task", "n", *args.models]
    table = rst_table(report_rows(results, args.datasets, args.models), header)
    subsampled = [f"{d} ({r['n_total']} -> {r['n']})" for d, r in results.items() if r["n"] < r["n_total"]]
    lofi_params = json.dumps({"random_state": SEED, **args.lofi_params}, sort_keys=True)
    notes = [
        f"{args.folds}-fold cross-validation (StratifiedKFold / KFold, shuffle=True, random_state=0), the same folds "
        "for every model; StandardScaler on numeric columns, one-hot on string columns; 537_houses target log1p.",
        "Cells: accuracy (clf) or R^2 (reg), mean ± std over folds, and the median fit time of one fold in "
        "seconds; the best mean of each row in bold.",
        f"Neural LoFi parameters: {lofi_params} (other parameters at their defaults); the baseline shares "
        f"{', '.join(BASELINE_KEYS)}; kernel Neural LoFi {', '.join(KERNEL_LOFI_KEYS)}; the deep NNGP "
        f"{', '.join(NNGP_KEYS)} (both with the infinite-width head, head=True).",
        f"Subsampled to at most {args.max_rows} rows (random, seed 0): "
        + (", ".join(subsampled) if subsampled else "none") + ".",
        f"sklearn_lofi {sklearn_lofi.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; wall time {wall / 60:.1f} min.",
    ]
    print(table)
    print()
    for note in notes:
        print(note)
    print(f"Command: {command}")
    if args.out:
        text = [
            "Real-data report",
            "================",
            "",
            table,
            "",
            *[f"- {note}" for note in notes],
            "",
            "Command::",
            "",
            f"    {command}",
            "",
        ]
        Path(args.out).write_text("\n".join(text), encoding="utf-8")
        progress(f"wrote {args.out}")
    if args.json:
        Path(args.json).write_text(json.dumps({"command": command, "results": results}, indent=1), encoding="utf-8")
        progress(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
