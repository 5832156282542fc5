"""Neural LoFi against what users pick instead: an MLP and Nystroem + ridge.

The question (the project's speed target): does Neural LoFi fit at least
3 times faster than scikit-learn's ``MLPClassifier`` at equal or better
cross-validated accuracy? Three real classification sets from the shared data
folder: ``magic`` (19 020 x 10, binary), ``letter`` (20 000 x 16, 26 classes
labelled 1..26) and ``adult`` (48 842 x 14, binary, 8 integer-coded
categorical columns).

Protocol:

* 5-fold ``StratifiedKFold(shuffle=True, random_state=0)``, the same folds for
  every model; all rows by default (``--max-rows`` draws a random subsample
  with seed 0);
* preprocessing, the same for every model and part of each timed pipeline:
  ``StandardScaler``; for ``adult`` the 8 categorical columns (integer codes
  in the file) are one-hot encoded (dense, unknown categories ignored) and
  the 6 numeric ones standardised;
* per fold, the models run one after the other in the same process, so that
  the fit-time ratios compare runs made under the same machine load; fit
  time is the wall time of ``pipeline.fit`` (preprocessing included), predict
  time that of ``pipeline.predict`` on the test fold; process CPU times are
  recorded in the JSON as well.

Models:

``lofi``
    ``NeuralLoFiClassifier(random_state=0)``, every other parameter at its
    default.
``lofi_tuned``
    ``NeuralLoFiClassifier(random_state=0, **setting)``; the setting is chosen
    per data set from a small grid (``--grid``) on the first fold only, by an
    inner stratified 80/20 split of that fold's *training* rows (no test row
    of any fold is used): the fastest candidate whose inner validation
    accuracy is at least the MLP's on the same split, else the most accurate
    candidate. ``--lofi-tuned JSON`` fixes the setting instead. A setting may
    carry ``"float32": true``: the scaled input is then cast to float32.
``mlp``
    ``MLPClassifier(hidden_layer_sizes=(256, 256), early_stopping=True,
    random_state=0)``, other parameters at scikit-learn's defaults (adam,
    ``max_iter=200``, 10 % validation split, ``n_iter_no_change=10``).
``nystroem``
    ``Nystroem(n_components=1000, gamma=None, random_state=0)`` (RBF kernel,
    ``gamma=None`` means 1 / number of input features after preprocessing)
    followed by ``RidgeClassifierCV(alphas=numpy.logspace(-3, 3, 13))``.

"LoFi equal or better" means: mean LoFi accuracy >= the other model's mean
minus the larger of the two standard deviations over folds. The target is met
on a data set when LoFi is equal or better than the MLP and the MLP's mean
fit time is at least 3 times LoFi's.

Usage::

    python benchmarks/alternatives.py --json benchmarks/results/alternatives.json
    python benchmarks/alternatives.py --quick          # < 1 min: 1500 rows, 3 folds, 2 candidates
                                                       # (synthetic stand-ins for data files not found)
    python benchmarks/alternatives.py --datasets magic --lofi-tuned '{"head_width": 1024}'

Tables go to stdout (reStructuredText simple tables), progress to stderr.
Needs NumPy, scikit-learn, sklearn_lofi and pandas (the ``bench`` extra).
"""

import argparse
import json
import os
import platform
import shlex
import subprocess
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
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import RidgeClassifierCV
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from sklearn_lofi import NeuralLoFiClassifier

DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
SEED = 0
TARGET_SPEEDUP = 3.0
RIDGE_ALPHAS = np.logspace(-3, 3, 13)
NYSTROEM_COMPONENTS = 1000
MLP_PARAMS = {"hidden_layer_sizes": (256, 256), "early_stopping": True, "random_state": SEED}
MODELS = ("lofi", "lofi_tuned", "mlp", "nystroem")
MODEL_LABELS = {"lofi": "LoFi (defaults)", "lofi_tuned": "LoFi (tuned)", "mlp": "MLP", "nystroem": "Nystroem+ridge"}

# The categorical columns of adult (integer codes in the PMLB file).
ADULT_CATEGORICAL = (
    "workclass", "education", "marital-status", "occupation", "relationship", "race", "sex", "native-country",
)
# name -> (file under --data-dir, target column, categorical columns)
DATASETS = {
    "magic": ("magic/magic.tsv.gz", "target", ()),
    "letter": ("letter/letter.tsv.gz", "target", ()),
    "adult": ("adult/adult.tsv.gz", "target", ADULT_CATEGORICAL),
}

# Candidate Neural LoFi settings for the first-fold grid (the defaults are
# width=1024, n_components=64, head_width=2048, n_layers=1, eig_solver="auto").
DEFAULT_GRID = (
    {},
    {"head_width": 1024},
    {"head_width": 1024, "float32": True},
    {"width": 512, "head_width": 1024},
    {"head_width": 1024, "eig_solver": "randomized"},
    {"n_components": 128},
    {"head_width": 4096},
)
QUICK_GRID = ({}, {"head_width": 1024})


def progress(message):
    print(message, file=sys.stderr, flush=True)


def stand_in(name):
    """A synthetic set shaped like ``name`` (columns, classes, categorical
    codes), for the smoke run on a clone without the shared data folder."""
    n_features, n_classes = {"magic": (10, 2), "letter": (16, 26), "adult": (14, 2)}[name]
    X, y = make_classification(n_samples=1500, n_features=n_features, n_informative=8, n_classes=n_classes,
                               n_clusters_per_class=1, random_state=SEED)
    categorical = np.zeros(n_features, dtype=bool)
    if name == "adult":
        categorical[:len(ADULT_CATEGORICAL)] = True
        X[:, categorical] = np.floor(3 * np.abs(X[:, categorical]))  # integer codes
    return X, y, categorical


def load(name, data_dir, allow_stand_in=False):
    """X (float64), y and the boolean mask of categorical columns."""
    path, target, categorical = DATASETS[name]
    if allow_stand_in and not (Path(data_dir) / path).exists():
        progress(f"[{name}] {Path(data_dir) / path} not found: a synthetic stand-in of its shape (smoke run only)")
        return stand_in(name)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is the bench extra
        raise SystemExit("this benchmark reads the data with pandas: pip install '.[bench]'") from None
    frame = pd.read_csv(Path(data_dir) / path, sep="\t")
    y = frame.pop(target).to_numpy()
    missing = [c for c in categorical if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: categorical column(s) {missing} not in the file")
    mask = np.array([c in categorical for c in frame.columns])
    return frame.to_numpy(dtype=np.float64), y, mask


def as_float32(X):
    return np.asarray(X, dtype=np.float32)


def preprocessor(categorical):
    if not categorical.any():
        return StandardScaler()
    return ColumnTransformer(
        [
            ("numeric", StandardScaler(), np.flatnonzero(~categorical)),
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
             np.flatnonzero(categorical)),
        ]
    )


def lofi_pipeline(categorical, setting):
    setting = dict(setting)
    float32 = setting.pop("float32", False)
    steps = [("preprocess", preprocessor(categorical))]
    if float32:
        steps.append(("float32", FunctionTransformer(as_float32)))
    steps.append(("model", NeuralLoFiClassifier(random_state=SEED, **setting)))
    return Pipeline(steps)


def build(model, categorical, tuned_setting=None):
    if model == "lofi":
        return lofi_pipeline(categorical, {})
    if model == "lofi_tuned":
        return lofi_pipeline(categorical, tuned_setting)
    if model == "mlp":
        return Pipeline([("preprocess", preprocessor(categorical)), ("model", MLPClassifier(**MLP_PARAMS))])
    if model == "nystroem":
        return Pipeline(
            [
                ("preprocess", preprocessor(categorical)),
                ("nystroem", Nystroem(n_components=NYSTROEM_COMPONENTS, random_state=SEED)),
                ("model", RidgeClassifierCV(alphas=RIDGE_ALPHAS)),
            ]
        )
    raise ValueError(model)


def fit_and_score(pipeline, X_train, y_train, X_test, y_test):
    """Accuracy, wall and CPU times of fit and predict, distinct warnings, model details."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0, c0 = time.perf_counter(), time.process_time()
        pipeline.fit(X_train, y_train)
        t1, c1 = time.perf_counter(), time.process_time()
        predicted = pipeline.predict(X_test)
        t2, c2 = time.perf_counter(), time.process_time()
    messages = []
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0] if str(w.message) else ''}"
        if text not in messages:
            messages.append(text)
    model = pipeline.named_steps["model"]
    details = {}
    for attribute in ("alpha_", "n_iter_", "best_validation_score_"):
        value = getattr(model, attribute, None)
        if value is not None:
            details[attribute] = float(value)
    return {
        "accuracy": float(np.mean(predicted == y_test)),
        "fit_time": t1 - t0,
        "predict_time": t2 - t1,
        "fit_cpu_time": c1 - c0,
        "predict_cpu_time": c2 - c1,
        "warnings": messages,
        **details,
    }


def setting_label(setting):
    return json.dumps(setting, sort_keys=True) if setting else "defaults"


def tune(X, y, categorical, train, grid):
    """Choose a LoFi setting on an inner 80/20 split of the first fold's training rows."""
    inner_train, inner_val = train_test_split(train, test_size=0.2, stratify=y[train], random_state=SEED)
    args = X[inner_train], y[inner_train], X[inner_val], y[inner_val]
    mlp = fit_and_score(build("mlp", categorical), *args)
    progress(f"    tune: MLP {mlp['accuracy']:.4f} in {mlp['fit_time']:.2f} s")
    candidates = []
    for setting in grid:
        result = fit_and_score(lofi_pipeline(categorical, setting), *args)
        candidates.append({"setting": setting, **result})
        progress(f"    tune: LoFi {setting_label(setting)}: {result['accuracy']:.4f} in {result['fit_time']:.2f} s")
    matching = [c for c in candidates if c["accuracy"] >= mlp["accuracy"]]
    if matching:
        chosen = min(matching, key=lambda c: c["fit_time"])
        rule = "fastest candidate at least as accurate as the MLP on the inner split"
    else:
        chosen = max(candidates, key=lambda c: (c["accuracy"], -c["fit_time"]))
        rule = "no candidate matched the MLP on the inner split: the most accurate one"
    return {
        "inner_train_rows": len(inner_train),
        "inner_val_rows": len(inner_val),
        "mlp": mlp,
        "candidates": candidates,
        "chosen": chosen["setting"],
        "rule": rule,
    }


def summarise(models):
    """Means, stds and the comparisons of both LoFi variants against the alternatives."""
    summary = {}
    for name, folds in models.items():
        acc = np.array([f["accuracy"] for f in folds])
        summary[name] = {
            "accuracy_mean": float(acc.mean()),
            "accuracy_std": float(acc.std()),
            "fit_time_mean": float(np.mean([f["fit_time"] for f in folds])),
            "predict_time_mean": float(np.mean([f["predict_time"] for f in folds])),
            "fit_cpu_time_mean": float(np.mean([f["fit_cpu_time"] for f in folds])),
        }
    comparisons = {}
    for lofi in ("lofi", "lofi_tuned"):
        if lofi not in summary:
            continue
        for other in ("mlp", "nystroem"):
            if other not in summary:
                continue
            a, b = summary[lofi], summary[other]
            tolerance = max(a["accuracy_std"], b["accuracy_std"])
            diffs = [f["accuracy"] - g["accuracy"] for f, g in zip(models[lofi], models[other])]
            comparisons[f"{lofi}_vs_{other}"] = {
                "fit_ratio": b["fit_time_mean"] / a["fit_time_mean"],
                "fit_ratio_median_of_folds": float(np.median(
                    [g["fit_time"] / f["fit_time"] for f, g in zip(models[lofi], models[other])]
                )),
                "accuracy_difference": a["accuracy_mean"] - b["accuracy_mean"],
                "paired_difference_std": float(np.std(diffs)),
                "equal_or_better": bool(a["accuracy_mean"] >= b["accuracy_mean"] - tolerance),
            }
        if f"{lofi}_vs_mlp" in comparisons:
            c = comparisons[f"{lofi}_vs_mlp"]
            c["target_met"] = bool(c["equal_or_better"] and c["fit_ratio"] >= TARGET_SPEEDUP)
    return summary, comparisons


def rst_table(rows, header):
    """An RST simple table (also readable as plain text)."""
    widths = [max(len(str(r[j])) for r in [header, *rows]) for j in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([rule, fmt(header), rule, *map(fmt, rows), rule])


def yes_no(flag):
    return "yes" if flag else "no"


def tables(results):
    """Main table (one row per data set and model) and the comparison table."""
    main_rows, comparison_rows, tuning_rows = [], [], []
    for name, info in results.items():
        n = f"{info['n']}" if info["n"] == info["n_total"] else f"{info['n']} of {info['n_total']}"
        for model, s in info["summary"].items():
            label = MODEL_LABELS[model]
            if model == "lofi_tuned":
                label += f" {setting_label(info['tuned_setting'])}"
            main_rows.append([
                name, n, label, f"{s['accuracy_mean']:.4f} ± {s['accuracy_std']:.4f}",
                f"{s['fit_time_mean']:.2f}", f"{s['predict_time_mean']:.3f}",
            ])
            name, n = "", ""
        for lofi in ("lofi", "lofi_tuned"):
            c_mlp = info["comparisons"].get(f"{lofi}_vs_mlp")
            c_nys = info["comparisons"].get(f"{lofi}_vs_nystroem")
            if c_mlp is None and c_nys is None:
                continue
            row = [info["name"], MODEL_LABELS[lofi]]
            for c in (c_mlp, c_nys):
                row += ["", ""] if c is None else [
                    f"{c['fit_ratio']:.2f}", f"{yes_no(c['equal_or_better'])} ({c['accuracy_difference']:+.4f})",
                ]
            row.append("" if c_mlp is None else yes_no(c_mlp["target_met"]))
            comparison_rows.append(row)
        if info.get("tuning"):
            t = info["tuning"]
            tuning_rows.append([info["name"], "MLP (reference)", f"{t['mlp']['accuracy']:.4f}",
                                f"{t['mlp']['fit_time']:.2f}", ""])
            for c in t["candidates"]:
                tuning_rows.append(["", f"LoFi {setting_label(c['setting'])}", f"{c['accuracy']:.4f}",
                                    f"{c['fit_time']:.2f}", "chosen" if c["setting"] == t["chosen"] else ""])
    main = rst_table(main_rows, ["data set", "n", "model", "CV accuracy", "fit s", "predict s"])
    comparison = rst_table(
        comparison_rows,
        ["data set", "LoFi", "MLP fit / LoFi fit", "LoFi >= MLP (diff.)", "Nystroem fit / LoFi fit",
         "LoFi >= Nystroem (diff.)", "3x target met"],
    )
    tuning = rst_table(tuning_rows, ["data set", "model (inner split of fold 1)", "val. accuracy", "fit s", ""]) \
        if tuning_rows else ""
    return main, comparison, tuning


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Fit time, predict time and CV accuracy of Neural LoFi against MLPClassifier and "
        "Nystroem + RidgeClassifierCV on magic, letter and adult.",
    )
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma list among {','.join(DATASETS)}")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma list among {','.join(MODELS)}")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="folder of the shared data sets")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test (< 1 min): at most 1500 rows per set, 3 folds, a 2-candidate grid")
    parser.add_argument("--folds", type=int, default=None, help="folds (default 5, or 3 with --quick)")
    parser.add_argument("--max-rows", type=int, default=None,
                        help="random subsample (seed 0) of at most this many rows (default: all, 1500 with --quick)")
    parser.add_argument("--grid", metavar="JSON", default=None,
                        help="JSON list of candidate LoFi settings for the first-fold tuning "
                        f"(default: {json.dumps(list(DEFAULT_GRID))})")
    parser.add_argument("--lofi-tuned", metavar="JSON", default=None,
                        help="fix the tuned LoFi setting (a JSON object) instead of the first-fold grid")
    parser.add_argument("--json", metavar="PATH", help="write the raw per-fold results as JSON")
    args = parser.parse_args(argv)

    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if not args.datasets or any(d not in DATASETS for d in args.datasets):
        parser.error(f"--datasets: choose among {','.join(DATASETS)}")
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not args.models or any(m not in MODELS for m in args.models):
        parser.error(f"--models: choose among {','.join(MODELS)}")
    if args.folds is None:
        args.folds = 3 if args.quick else 5
    if args.max_rows is None and args.quick:
        args.max_rows = 1500
    if args.folds < 2 or (args.max_rows is not None and args.max_rows < 10 * args.folds):
        parser.error("need --folds >= 2 and --max-rows >= 10 * --folds")
    try:
        grid = json.loads(args.grid) if args.grid else list(QUICK_GRID if args.quick else DEFAULT_GRID)
        tuned = json.loads(args.lofi_tuned) if args.lofi_tuned else None
    except json.JSONDecodeError as exc:
        parser.error(f"invalid JSON: {exc}")
    if not isinstance(grid, list) or not grid or not all(isinstance(g, dict) for g in grid):
        parser.error("--grid must be a non-empty JSON list of objects")
    if tuned is not None and not isinstance(tuned, dict):
        parser.error("--lofi-tuned must be a JSON object")
    args.grid, args.lofi_tuned = grid, tuned
    return args


def git_state():
    """Commit and the files under sklearn_lofi/ that differ from it (the benchmarked code)."""
    def run(*command):
        try:
            out = subprocess.run(["git", *command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    changed = run("status", "--porcelain", "--", "sklearn_lofi")
    return {"commit": run("rev-parse", "HEAD"),
            "uncommitted_package_files": None if changed is None else [l[3:] for l in changed.splitlines()]}


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "benchmarks/alternatives.py", *(sys.argv[1:] if argv is None else argv)])
    start = time.perf_counter()
    load_start = os.getloadavg()
    git = git_state()
    results = {}
    for name in args.datasets:
        X, y, categorical = load(name, args.data_dir, allow_stand_in=args.quick)
        n_total = len(y)
        if args.max_rows is not None and n_total > args.max_rows:
            rows = np.sort(np.random.RandomState(SEED).choice(n_total, size=args.max_rows, replace=False))
            X, y = X[rows], y[rows]
        splits = list(StratifiedKFold(args.folds, shuffle=True, random_state=SEED).split(X, y))
        n_features_model = preprocessor(categorical).fit_transform(X[:1000]).shape[1] if categorical.any() \
            else X.shape[1]
        progress(f"[{name}] {len(y)} rows (of {n_total}), {X.shape[1]} columns ({int(categorical.sum())} "
                 f"categorical; {n_features_model} model inputs), {len(np.unique(y))} classes, {args.folds} folds")
        info = {
            "name": name, "n": len(y), "n_total": n_total, "n_columns": X.shape[1],
            "n_categorical": int(categorical.sum()), "n_classes": int(len(np.unique(y))),
        }
        tuned_setting = args.lofi_tuned
        if "lofi_tuned" in args.models and tuned_setting is None:
            info["tuning"] = tune(X, y, categorical, splits[0][0], args.grid)
            tuned_setting = info["tuning"]["chosen"]
            progress(f"[{name}] tuned setting: {setting_label(tuned_setting)} ({info['tuning']['rule']})")
        info["tuned_setting"] = tuned_setting
        folds = {model: [] for model in args.models}
        for k, (train, test) in enumerate(splits):
            for model in args.models:
                pipeline = clone(build(model, categorical, tuned_setting))
                result = fit_and_score(pipeline, X[train], y[train], X[test], y[test])
                folds[model].append(result)
                progress(f"[{name}] fold {k + 1} {model}: accuracy {result['accuracy']:.4f}, "
                         f"fit {result['fit_time']:.2f} s, predict {result['predict_time']:.3f} s")
                for message in result["warnings"]:
                    if "ConvergenceWarning" not in message or k == 0:
                        progress(f"[{name}]   warning: {message}")
        info["models"] = folds
        info["summary"], info["comparisons"] = summarise(folds)
        results[name] = info
    wall = time.perf_counter() - start

    main_table, comparison_table, tuning_table = tables(results)
    machine = {
        "cpu_count": os.cpu_count(),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "sklearn_lofi": sklearn_lofi.__version__,
        "git": git,
    }
    print(main_table)
    print()
    print(comparison_table)
    if tuning_table:
        print()
        print(tuning_table)
    print()
    print(f"{args.folds}-fold StratifiedKFold(shuffle=True, random_state=0); times are means over folds (wall "
          "seconds, preprocessing included). 'LoFi >= X': mean LoFi accuracy >= X's mean minus the larger "
          "of the two fold standard deviations; diff. = difference of the means.")
    print(f"sklearn_lofi {sklearn_lofi.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average at start "
          f"{load_start[0]:.1f}, at end {machine['load_average_end'][0]:.1f}; wall time {wall / 60:.1f} min.")
    print(f"Command: {command}")
    if args.json:
        payload = {
            "command": command,
            "wall_time_s": wall,
            "machine": machine,
            "protocol": {
                "folds": args.folds, "max_rows": args.max_rows, "seed": SEED,
                "mlp": {**MLP_PARAMS, "hidden_layer_sizes": list(MLP_PARAMS["hidden_layer_sizes"])},
                "nystroem": {"n_components": NYSTROEM_COMPONENTS, "gamma": "1/n_features (gamma=None)",
                             "ridge_alphas": RIDGE_ALPHAS.tolist()},
                "grid": args.grid, "fixed_tuned_setting": args.lofi_tuned,
                "target_speedup": TARGET_SPEEDUP,
            },
            "results": results,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(payload, indent=1), encoding="utf-8")
        progress(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
