"""Command line: cross-validate Neural LoFi against its baselines on one data set.

``python -m sklearn_lofi`` runs on scikit-learn's bundled digits; ``--data FILE
--target COLUMN`` runs on a CSV/TSV file (see :func:`sklearn_lofi._data.load_table`).
Every model is a pipeline (preprocessing, then the estimator) scored on the same
folds. The table goes to stdout, progress to stderr; bad input ends with one
``error: ...`` line on stderr and exit status 2.

Only the public estimators and their parameters are used here.
"""

import argparse
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from . import (
    DeepNNGPClassifier,
    DeepNNGPRegressor,
    KernelLoFiClassifier,
    KernelLoFiRegressor,
    NeuralLoFiClassifier,
    NeuralLoFiRegressor,
    RandomFeatureBaselineClassifier,
    RandomFeatureBaselineRegressor,
)
from ._data import as_model_input, load_table, make_preprocessor, subsample

__all__ = ["main"]

MODEL_NAMES = ("lofi", "baseline", "ridge", "mlp", "kernel_lofi", "deep_nngp")
#: The infinite-width models cost O(n^3): on request only; one that does not fit in
#: memory is skipped (with a note) rather than ending the run.
DEFAULT_MODELS = MODEL_NAMES[:4]
KERNEL_MODELS = MODEL_NAMES[4:]
RIDGE_ALPHAS = np.logspace(-3, 3, 13)
#: Auto task: an integer-coded target with at most this many values is a class label.
MAX_AUTO_CLASSES = 20
#: Exit statuses.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


_UNSET = object()  # --degree not given (None means "none")


class UsageError(Exception):
    """Bad options or bad input data: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the usage and exit
        raise UsageError(f"{message} (see --help)")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def _folds(text):
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, got {text!r}")
    return value


def _degree(text):
    if text.strip().lower() == "none":
        return None
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a positive integer or 'none', got {text!r}") from None


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _n_jobs(text):
    value = _int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (use 1 for serial, -1 for all cores)")
    return value


def _model_list(text):
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in MODEL_NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown model {unknown[0]!r}; choose among {','.join(MODEL_NAMES)}"
        )
    if not names:
        raise argparse.ArgumentTypeError(f"empty list; choose among {','.join(MODEL_NAMES)}")
    return [name for name in MODEL_NAMES if name in names]  # canonical order, no duplicates


def build_parser():
    parser = _Parser(
        prog="python -m sklearn_lofi",
        description=(
            "Cross-validate Neural LoFi against its lazy random-feature baseline, ridge and an MLP, "
            "on the same folds, and print scores (accuracy or R^2) and fit times. Without --data: "
            "scikit-learn's bundled digits (1797 8x8 images, 10 classes)."
        ),
        epilog=(
            "Numeric feature columns are standardised and string columns one-hot encoded. "
            "Missing values ('', NA, ?, nan) are an error in numeric columns and in the target, "
            "and a category of their own in string columns."
        ),
    )
    data = parser.add_argument_group("data")
    data.add_argument("--data", metavar="FILE", help="CSV or TSV file with a header row (.gz compressed or not)")
    data.add_argument("--target", metavar="COLUMN", help="name of the target column (required with --data)")
    data.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help=(
            "auto (default): classification for a string target or an integer target with at most "
            f"{MAX_AUTO_CLASSES} distinct values, regression otherwise"
        ),
    )
    data.add_argument(
        "--max-rows", type=_positive_int, metavar="N", help="use a random subset of N rows (drawn with --seed)"
    )
    model = parser.add_argument_group("Neural LoFi (defaults: the estimator's own)")
    model.add_argument("--width", type=_positive_int, metavar="P", help="random features per layer")
    model.add_argument(
        "--degree", type=_degree, default=_UNSET, metavar="D", help="Hermite degree of each layer, or 'none'"
    )
    model.add_argument("--n-components", type=_positive_int, metavar="K", help="directions kept per layer")
    model.add_argument("--n-layers", type=_non_negative_int, metavar="L", help="number of filtered layers")
    model.add_argument("--head-width", type=_non_negative_int, metavar="P", help="width of the unfiltered head")
    run = parser.add_argument_group("run")
    run.add_argument(
        "--models",
        type=_model_list,
        default=list(DEFAULT_MODELS),
        metavar="LIST",
        help=f"comma-separated models among {','.join(MODEL_NAMES)} (default: {','.join(DEFAULT_MODELS)}; "
        "kernel_lofi and deep_nngp are the infinite-width forms, whose cost grows as n^3)",
    )
    run.add_argument("--folds", type=_folds, default=5, metavar="K", help="cross-validation folds (default 5)")
    run.add_argument(
        "--seed", type=_int, default=0, help="seed of the folds, the subsample and every model (default 0)"
    )
    run.add_argument(
        "--n-jobs", type=_n_jobs, default=None, metavar="N", help="run N folds at once (default: one at a time)"
    )
    run.add_argument(
        "--save",
        metavar="PATH",
        help=(
            "refit the Neural LoFi pipeline (preprocessing included) on all rows used and save it with "
            "joblib.dump; it predicts from the feature columns in file order (2-D array or data frame)"
        ),
    )
    run.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    run.add_argument("--debug", action="store_true", help="show full tracebacks instead of one-line errors")
    return parser


# --------------------------------------------------------------------------- data


@dataclass
class _Dataset:
    """What a run needs: the data, the task and the preprocessing step."""

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    task_reason: str
    preprocessor: object
    n_features: int
    n_categorical: int


def _resolve_task(requested, y, kind, target):
    """Task and a short reason; UsageError when the request cannot work."""
    if kind == "string":
        if requested == "regression":
            example = str(next(iter(v for v in y if not _parses(v)), y[0]))
            raise UsageError(
                f"--task regression needs a numeric target, but column {target!r} has non-numeric "
                f"values such as {example!r}"
            )
        return "classification", "string target"
    n_distinct = np.unique(y).size
    if requested == "classification" and kind == "float" and not np.all(np.mod(y, 1) == 0):
        raise UsageError(
            f"--task classification needs class labels, but column {target!r} holds non-integer numbers "
            f"({n_distinct} distinct values); use --task regression"
        )
    if requested != "auto":
        return requested, "requested"
    if kind == "integer" and n_distinct <= MAX_AUTO_CLASSES:
        return "classification", f"integer target with {n_distinct} distinct values"
    if kind == "integer":
        return "regression", f"integer target with {n_distinct} > {MAX_AUTO_CLASSES} distinct values"
    return "regression", "numeric target"


def _parses(value):
    try:
        float(value)
    except ValueError:
        return False
    return True


def _load(args):
    if args.data is None:
        if args.target is not None:
            raise UsageError("--target needs --data FILE")
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        task, reason = _resolve_task(args.task, y.astype(np.float64), "integer", "digit")
        name = "digits (scikit-learn load_digits)"
        return _Dataset(name, X.astype(np.float64), y, task, reason, StandardScaler(), X.shape[1], 0)
    if args.target is None:
        raise UsageError("--data needs --target COLUMN (the name of the target column)")
    try:
        table = load_table(args.data, args.target)
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise UsageError(str(exc)) from None
    except PermissionError as exc:
        raise UsageError(f"cannot read {args.data}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    task, reason = _resolve_task(args.task, table.y, table.target_kind, table.target)
    y = table.y
    if task == "classification" and table.target_kind != "string":
        y = y.astype(np.int64)  # integer-valued labels come back as integers
    X = as_model_input(table.X, table.categorical)
    name = f"{Path(args.data).name} (target {table.target!r})"
    return _Dataset(
        name,
        X,
        y,
        task,
        reason,
        make_preprocessor(table.categorical),
        table.n_features,
        int(table.categorical.sum()),
    )


def _check_target(dataset, target_name):
    y = dataset.y
    if dataset.task == "classification":
        classes, counts = np.unique(y, return_counts=True)
        if classes.size < 2:
            raise UsageError(
                f"{target_name} has a single class ({_fmt_label(classes[0])}); classification needs at least two"
            )
        return classes, counts
    if np.ptp(y) == 0:
        raise UsageError(f"{target_name} is constant ({y[0]:g}); there is nothing to regress")
    return None, None


def _fmt_label(value):
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return repr(int(value))
    return repr(value.item() if isinstance(value, np.generic) else value)


# --------------------------------------------------------------------------- models


def _lofi_params(args):
    params = {}
    for name in ("n_layers", "width", "n_components", "head_width"):
        value = getattr(args, name)
        if value is not None:
            params[name] = value
    if args.degree is not _UNSET:
        params["degree"] = args.degree
    return params


def _build_models(names, task, args, preprocessor):
    classification = task == "classification"
    lofi = _lofi_params(args)
    baseline = {key: value for key, value in lofi.items() if key != "n_components"}
    kernel = {key: value for key, value in lofi.items() if key not in ("width", "head_width")}
    nngp = {key: value for key, value in kernel.items() if key != "n_components"}
    seed = args.seed
    estimators = {
        "lofi": lambda: (NeuralLoFiClassifier if classification else NeuralLoFiRegressor)(random_state=seed, **lofi),
        "baseline": lambda: (RandomFeatureBaselineClassifier if classification else RandomFeatureBaselineRegressor)(
            random_state=seed, **baseline
        ),
        "ridge": lambda: (RidgeClassifierCV if classification else RidgeCV)(alphas=RIDGE_ALPHAS),
        "mlp": lambda: (MLPClassifier if classification else MLPRegressor)(max_iter=300, random_state=seed),
        "kernel_lofi": lambda: (KernelLoFiClassifier if classification else KernelLoFiRegressor)(
            random_state=seed, **kernel
        ),
        "deep_nngp": lambda: (DeepNNGPClassifier if classification else DeepNNGPRegressor)(**nngp),
    }
    return {name: Pipeline([("preprocess", clone(preprocessor)), ("model", estimators[name]())]) for name in names}


def _describe(pipeline):
    est = pipeline.named_steps["model"]
    params = est.get_params()
    kind = type(est).__name__
    if kind.startswith("NeuralLoFi"):
        return (
            f"{kind}(n_layers={params['n_layers']}, width={params['width']}, "
            f"n_components={params['n_components']}, degree={params['degree']}, head_width={params['head_width']})"
        )
    if kind.startswith("RandomFeatureBaseline"):
        return (
            f"{kind}(n_layers={params['n_layers']}, width={params['width']}, "
            f"degree={params['degree']}, head_width={params['head_width']})"
        )
    if kind.startswith("KernelLoFi"):
        return (
            f"{kind}(n_layers={params['n_layers']}, n_components={params['n_components']}, "
            f"degree={params['degree']}, head={params['head']})"
        )
    if kind.startswith("DeepNNGP"):
        return f"{kind}(n_layers={params['n_layers']}, degree={params['degree']}, head={params['head']})"
    if kind.startswith("Ridge"):
        return f"{kind}(alphas=logspace(-3, 3, 13))"
    return f"{kind}(max_iter={params['max_iter']})"


# --------------------------------------------------------------------------- cross-validation


def _score(task, y_true, y_pred):
    return accuracy_score(y_true, y_pred) if task == "classification" else r2_score(y_true, y_pred)


def _fit_fold(name, pipeline, X, y, train, test, task):
    """Fit one clone on ``train``; score, fit seconds and the distinct warnings it raised."""
    est = clone(pipeline)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X[train], y[train])
        fit_time = time.perf_counter() - start
        score = _score(task, y[test], est.predict(X[test]))
    messages = []
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0] if str(w.message) else ''}"
        if text not in messages:
            messages.append(text)
    return name, score, fit_time, messages


def _run_folds(models, dataset, splits, n_jobs, progress):
    """Scores and fit times per model, in fold order; progress as folds finish."""
    tasks = [(name, i) for name in models for i in range(len(splits))]
    results = {name: [None] * len(splits) for name in models}
    warned, skipped = {}, {}
    metric = "accuracy" if dataset.task == "classification" else "r2"

    def skip(name, exc):
        # an infinite-width model that does not fit in memory: the others still run
        if name not in skipped:
            skipped[name] = str(exc).strip().splitlines()[0]
            progress(f"[{name}] skipped: MemoryError: {skipped[name]} (--max-rows limits the rows)")

    def record(name, i, out):
        _, score, fit_time, messages = out
        results[name][i] = (score, fit_time)
        progress(f"[{name}] fold {i + 1}/{len(splits)} {metric} {score:.3f} ({fit_time:.1f} s)")
        for message in messages:
            if (name, message) not in warned:
                warned[(name, message)] = True
                progress(f"[{name}] warning: {message}")

    if n_jobs is None or n_jobs == 1:
        for name, i in tasks:
            if name in skipped:
                continue
            train, test = splits[i]
            try:
                out = _fit_fold(name, models[name], dataset.X, dataset.y, train, test, dataset.task)
            except MemoryError as exc:
                if name not in KERNEL_MODELS:
                    raise _FoldError(name, i, len(splits), exc) from exc
                skip(name, exc)
                continue
            except Exception as exc:
                raise _FoldError(name, i, len(splits), exc) from exc
            record(name, i, out)
        return results, skipped

    from joblib import Parallel, delayed

    def job(name, i):
        train, test = splits[i]
        try:
            return i, _fit_fold(name, models[name], dataset.X, dataset.y, train, test, dataset.task)
        except MemoryError as exc:
            if name not in KERNEL_MODELS:
                raise _FoldError(name, i, len(splits), exc) from exc
            return i, (name, exc)
        except Exception as exc:
            raise _FoldError(name, i, len(splits), exc) from exc

    try:  # joblib >= 1.4: report folds as they finish
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    except ValueError:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    for i, out in parallel(delayed(job)(name, i) for name, i in tasks):
        if isinstance(out[1], MemoryError):
            skip(*out)
        else:
            record(out[0], i, out)
    return results, skipped


class _FoldError(Exception):
    def __init__(self, name, fold, n_folds, exc):
        super().__init__(name, fold, n_folds, exc)
        self.name, self.fold, self.n_folds, self.exc = name, fold, n_folds, exc

    def __str__(self):
        detail = str(self.exc).strip().splitlines()
        detail = detail[0] if detail else ""
        return f"[{self.name}] fold {self.fold + 1}/{self.n_folds} failed: {type(self.exc).__name__}: {detail}"


def _make_splits(dataset, classes, counts, folds, seed, notes):
    n = len(dataset.y)
    if n < folds:
        raise UsageError(f"{n} rows cannot be split into {folds} folds; lower --folds or raise --max-rows")
    if dataset.task == "classification":
        smallest = counts.min()
        if smallest >= folds:
            cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
            return list(cv.split(np.zeros(n), dataset.y)), f"{folds} x StratifiedKFold(shuffle, seed {seed})"
        label = _fmt_label(classes[np.argmin(counts)])
        notes.append(
            f"class {label} has only {smallest} row{'s' if smallest != 1 else ''} (< {folds} folds): "
            "using KFold instead of StratifiedKFold"
        )
    cv = KFold(folds, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(n))), f"{folds} x KFold(shuffle, seed {seed})"


# --------------------------------------------------------------------------- report


def _format_table(models, results, task, skipped):
    metric = "accuracy" if task == "classification" else "R^2"
    rows = []
    for name, pipeline in models.items():
        if name in skipped:
            rows.append((name, "skipped: MemoryError", "-", _describe(pipeline)))
            continue
        scores = np.array([s for s, _ in results[name]])
        times = np.array([t for _, t in results[name]])
        rows.append((name, f"{scores.mean():.3f} ± {scores.std():.3f}", f"{times.mean():.2f}", _describe(pipeline)))
    header = ("model", f"{metric} (mean ± std)", "fit s/fold", "estimator")
    widths = [max(len(header[j]), *(len(r[j]) for r in rows)) for j in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def _features_text(dataset):
    if not dataset.n_categorical:
        return str(dataset.n_features)
    return f"{dataset.n_features} ({dataset.n_categorical} categorical, one-hot encoded)"


def _run(args, out, err):
    def progress(message):
        if not args.quiet:
            print(message, file=err, flush=True)

    if args.save is not None:
        parent = Path(args.save).expanduser().resolve().parent
        if not parent.is_dir():
            raise UsageError(f"--save: directory {str(parent)!r} does not exist")

    dataset = _load(args)
    notes = []
    n_total = len(dataset.y)
    rows = subsample(n_total, args.max_rows, args.seed)
    if rows.size < n_total:
        dataset.X, dataset.y = dataset.X[rows], dataset.y[rows]
        notes.append(
            f"subsampled {rows.size} of {n_total} rows at random (--max-rows {args.max_rows}, seed {args.seed})"
        )
    target_name = "the target" if args.data is None else f"target column {args.target!r}"
    classes, counts = _check_target(dataset, target_name)
    splits, split_text = _make_splits(dataset, classes, counts, args.folds, args.seed, notes)
    models = _build_models(args.models, dataset.task, args, dataset.preprocessor)

    task_text = dataset.task
    if classes is not None:
        task_text += f", {classes.size} classes"
    task_text += f" ({dataset.task_reason})"
    print(
        f"data set: {dataset.name} | rows: {len(dataset.y)} | features: {_features_text(dataset)} | "
        f"task: {task_text} | folds: {split_text}",
        file=out,
        flush=True,
    )
    for note in notes:
        print(f"note: {note}", file=out, flush=True)

    start = time.perf_counter()
    results, skipped = _run_folds(models, dataset, splits, args.n_jobs, progress)
    elapsed = time.perf_counter() - start
    print("", file=out)
    print(_format_table(models, results, dataset.task, skipped), file=out)
    for name, message in skipped.items():
        print(f"note: {name} skipped: {message} (--max-rows N limits the rows)", file=out)
    print(f"\ncross-validation wall time: {elapsed:.1f} s", file=out, flush=True)

    if args.save is not None:
        import joblib

        pipeline = _build_models(["lofi"], dataset.task, args, dataset.preprocessor)["lofi"]
        progress(f"[save] refitting the Neural LoFi pipeline on all {len(dataset.y)} rows")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipeline.fit(dataset.X, dataset.y)
        path = Path(args.save).expanduser()
        joblib.dump(pipeline, path)
        print(
            f"saved the Neural LoFi pipeline (fit on {len(dataset.y)} rows, {dataset.n_features} input columns "
            f"in file order) to {path}",
            file=out,
            flush=True,
        )
    return EXIT_OK


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    out, err = sys.stdout, sys.stderr
    parser = build_parser()
    debug = "--debug" in (sys.argv[1:] if argv is None else list(argv))
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        return _run(args, out, err)
    except UsageError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=err, flush=True)
        return EXIT_USAGE
    except _FoldError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=err, flush=True)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted", file=err, flush=True)
        return EXIT_INTERRUPTED
    except (OSError, MemoryError, ValueError) as exc:
        if debug:
            raise
        detail = str(exc).strip().splitlines()
        print(f"error: {type(exc).__name__}: {detail[0] if detail else ''}", file=err, flush=True)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
