"""Eigensolvers of the LoFi layer: randomized against dense (and ARPACK), in one run.

Two measurements, both reported as ratios taken in the same process
(DESIGN.md §4: absolute times on a shared machine drift, ratios less so).

**Part 1, randomized against dense on real data.** ``magic`` (19 020 rows,
binary), a stratified 75/25 split with seed 0, ``StandardScaler`` fitted on
the training rows, float64. For each layer width ``P`` and number of kept
directions ``K``:

* fit time of ``LoFiTransformer(n_layers=1, width=P, n_components=K,
  eig_solver=s, random_state=0)`` for ``s`` in dense, randomized, arpack;
  the dense fit runs once per ``P``, with ``n_components = max(K) + 1``: it
  computes the full spectrum whatever ``K`` is, and its top-``K`` directions
  are the leading ``K`` columns of that fit (the selection sorts the whole
  spectrum, then truncates), so the same fit serves every ``K``;
* the time of the lift alone (``sklearn_lofi._stack.lift`` with the fitted
  weights), common to every solver, and the solver-only ratio
  ``(dense fit - lift) / (randomized fit - lift)``;
* subspace error of the randomized (and ARPACK) ``components_[0]`` against the
  dense one (the lift weights do not depend on the solver; checked here too):
  sine of the largest principal angle, Frobenius sin-theta
  (``scipy.linalg.subspace_angles``), the relative deficit of the kept
  ``sum |eigenvalue|`` and the dense gap ``|lambda_{K+1}| / |lambda_K|``;
* test accuracy of ``NeuralLoFiClassifier(width=P, n_components=K,
  eig_solver=s, random_state=0)`` (default head and readout), dense against
  randomized, and the classifiers' fit times.

**Part 2, the sweep behind** ``eig_solver="auto"``. ``fars`` (100 968 rows,
29 integer-coded features, standardised), a random subsample of ``n`` rows
(seed 0), the label either binary (class 1 against the rest: one operator
column) or the 8-class target (one-hot: a vector label), coded and centred as
the estimators do. One ReLU lift per ``(n, P)`` (untimed), then the layer
step ``lift -> directions -> projected features`` is timed per solver:

* dense: ``label_moments`` (timed once per ``(n, P, label)``) plus
  ``top_directions(eig_solver="dense")`` plus ``Z @ V`` (once: a full
  ``eigh`` whose cost does not depend on ``K``);
* arpack: the same ``label_moments`` time plus
  ``top_directions(eig_solver="arpack")`` plus ``Z @ V``, per ``K``; a silent
  fall-back to dense ``eigh`` is detected and counted;
* randomized: ``randomized_top_directions`` (plus ``Z @ V`` when the solver
  does not return it), per ``K``.

Then least-squares cost models (seconds per flop of each term, fitted on
relative error) and the comparison of candidate ``auto`` rules against the
per-cell best solver.

Timing: each timed call is repeated while its best time stays under 2 s, at
most 3 times, and the best time is kept; longer calls run once. Both wall and
process CPU time are saved; ``--clock`` picks the one the tables and the
analysis use. On a shared machine, run single-threaded and read CPU time (the
time on an idle core, whatever else takes turns on the cores), and wrap timed
runs in ``flock /tmp/lofi-bench.lock``. Usage::

    flock /tmp/lofi-bench.lock python benchmarks/eigensolvers.py --blas-threads 1 --n-jobs 1 \\
        --clock cpu --json benchmarks/results/eigensolvers.json --rst /tmp/eigensolvers_tables.rst
    python benchmarks/eigensolvers.py --quick            # smoke test, < 1 minute (synthetic
                                                         # stand-ins for data files not found)
    python benchmarks/eigensolvers.py --analyse benchmarks/results/eigensolvers.json

``--analyse`` re-runs only the model fit and the rule comparison on saved
measurements. Needs pandas (to read the data files) besides the library.
"""

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import linalg
from scipy.optimize import nnls

REPO_ROOT = Path(__file__).resolve().parents[1]
try:
    import sklearn_lofi
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_ROOT))
    import sklearn_lofi

import sklearn
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_lofi import LoFiTransformer, NeuralLoFiClassifier
from sklearn_lofi import _spectral, _stack

DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
SOLVERS = ("dense", "arpack", "randomized")
REPEAT_BELOW = 2.0  # seconds: repeat shorter calls (best of up to MAX_REPEATS)
MAX_REPEATS = 3

FULL = dict(
    part1_widths=(1024, 4096, 8192), part1_components=(16, 64, 256), part1_max_train=None,
    part2_rows=(2000, 20000), part2_widths=(256, 512, 1024, 2048, 4096), part2_components=(8, 32, 128),
)
QUICK = dict(
    part1_widths=(128, 256), part1_components=(8, 16), part1_max_train=1000,
    part2_rows=(500, 1000), part2_widths=(64, 128), part2_components=(4, 16),
)


def log(message):
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- timing


CLOCK = "wall"  # which clock the tables and the analysis use (set from --clock)


def timed(function):
    """Best time of ``function()`` on the chosen clock, its last result, and the
    best time on the other clock (see module docstring).

    ``cpu`` is the process's CPU time: with one BLAS thread and ``n_jobs=1`` it
    is the time on an idle core, unaffected by other jobs taking turns on a
    shared machine; ``wall`` is elapsed time.
    """
    cpu, wall = [], []
    while True:
        gc.collect()
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
        chosen = cpu if CLOCK == "cpu" else wall
        if len(chosen) >= MAX_REPEATS or min(chosen) >= REPEAT_BELOW:
            other = wall if CLOCK == "cpu" else cpu
            return min(chosen), result, min(other)


@contextlib.contextmanager
def count_dense_fallbacks():
    """Count calls of the dense ``eigh`` (an ARPACK run that falls back to it)."""
    original = getattr(_spectral, "_dense_eigh", None)
    calls = [0]
    if original is None:  # the library changed: no detection
        yield None
        return

    def counting(M):
        calls[0] += 1
        return original(M)

    _spectral._dense_eigh = counting
    try:
        yield calls
    finally:
        _spectral._dense_eigh = original


N_JOBS = None  # n_jobs of the estimators and of the lift (set from --n-jobs)


@contextlib.contextmanager
def blas_threads(limit):
    if limit is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=limit, user_api="blas"):
        yield


def machine_info():
    try:
        from threadpoolctl import threadpool_info

        pools = [
            {k: p.get(k) for k in ("internal_api", "num_threads", "version", "architecture")}
            for p in threadpool_info()
        ]
    except ImportError:
        pools = None
    cpu = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    git = {}
    library_dir = Path(sklearn_lofi.__file__).resolve().parent
    with contextlib.suppress(Exception):
        git["script_repo_head"] = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
                                                 capture_output=True, text=True, check=True).stdout.strip()
    with contextlib.suppress(Exception):
        git["library_head"] = subprocess.run(["git", "-C", str(library_dir), "rev-parse", "HEAD"],
                                             capture_output=True, text=True, check=True).stdout.strip()
        git["library_dirty"] = bool(subprocess.run(
            ["git", "-C", str(library_dir), "status", "--porcelain", "."],
            capture_output=True, text=True, check=True).stdout.strip())
    return {
        "cpu": cpu, "n_cpus": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "numpy": np.__version__,
        "scipy": __import__("scipy").__version__, "sklearn": sklearn.__version__,
        "threadpools": pools, "library_file": sklearn_lofi.__file__, "git": git,
    }


# ----------------------------------------------------------------------------- data


STAND_IN = False  # set by --quick: synthetic stand-ins for data files that are not there


def read_table(data_dir, name):
    import pandas as pd  # optional extra: only the benchmark needs it

    path = Path(data_dir) / name / f"{name}.tsv.gz"
    if STAND_IN and not path.exists():
        log(f"{path} not found: a synthetic stand-in of its shape (smoke run only)")
        n_features, n_classes = {"magic": (10, 2), "fars": (29, 8)}[name]
        X, y = make_classification(n_samples=4000, n_features=n_features, n_informative=8, n_classes=n_classes,
                                   n_clusters_per_class=1, random_state=0)
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(n_features)])
        frame["target"] = y
        return frame
    return pd.read_csv(path, sep="\t")


def load_magic(data_dir, max_train=None):
    frame = read_table(data_dir, "magic")
    X = frame.drop(columns="target").to_numpy(dtype=np.float64)
    y = frame["target"].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    if max_train is not None:
        X_train, y_train = X_train[:max_train], y_train[:max_train]
        X_test, y_test = X_test[: max_train // 2], y_test[: max_train // 2]
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), y_train, scaler.transform(X_test), y_test


def load_fars(data_dir):
    frame = read_table(data_dir, "fars")
    X = frame.drop(columns="target").to_numpy(dtype=np.float64)
    return X, frame["target"].to_numpy()


def operator_labels(y, kind):
    """Operator labels as the estimators build them (label_centering=True).

    Binary: one column, +-1 for (class 1, the rest); multi-class: one-hot. Then
    each column centred and scaled to unit RMS (unit sample weights).
    """
    if kind == "binary":
        Y = np.where(y == 1, 1.0, -1.0)[:, None]
    else:
        Y = (y[:, None] == np.unique(y)[None, :]).astype(np.float64)
    Y = Y - Y.mean(axis=0)
    rms = np.sqrt((Y * Y).mean(axis=0))
    rms[~(rms > np.finfo(np.float64).tiny)] = 1.0
    return Y / rms


# ----------------------------------------------------------------------------- accuracy metrics


def subspace_errors(reference, values_reference, other, values_other):
    """Principal-angle errors of ``other`` against ``reference`` (both P x k)."""
    k = min(reference.shape[1], other.shape[1])
    sines = np.sin(linalg.subspace_angles(reference[:, :k], other[:, :k]))
    kept_reference = float(np.abs(values_reference[:k]).sum())
    return {
        "sin_max": float(sines.max()),
        "sin_frobenius": float(np.sqrt((sines**2).sum())),
        "value_deficit": float(1.0 - np.abs(values_other[:k]).sum() / kept_reference) if kept_reference else 0.0,
        "n_kept": int(other.shape[1]),
    }


def spectral_gap(values, K):
    """``|lambda_{K+1}| / |lambda_K|`` from a spectrum in selection order (None if unknown)."""
    if values is None or len(values) <= K:
        return None
    return float(abs(values[K]) / abs(values[K - 1]))


# ----------------------------------------------------------------------------- part 1


def part1(config, data_dir):
    X_train, y_train, X_test, y_test = load_magic(data_dir, config["part1_max_train"])
    log(f"part 1: magic, {X_train.shape[0]} training and {X_test.shape[0]} test rows, "
        f"{X_train.shape[1]} features")
    rows = []
    components = config["part1_components"]
    for P in config["part1_widths"]:
        K_dense = max(components) + 1
        dense = LoFiTransformer(n_layers=1, width=P, n_components=K_dense, eig_solver="dense", random_state=0,
                                n_jobs=N_JOBS)
        t_dense, dense, t_dense_other = timed(lambda: clone(dense).fit(X_train, y_train))
        V_dense, values_dense = dense.components_[0], dense.eigenvalues_[0]
        t_lift, _, _ = timed(lambda: lift_like(dense, X_train))
        log(f"  P={P}: dense fit {t_dense:.2f} s (K={K_dense}), lift {t_lift:.3f} s")
        for K in components:
            row = {"P": P, "K": K, "n_train": int(X_train.shape[0]), "n_test": int(X_test.shape[0]),
                   "lift_s": t_lift, "fit_s": {"dense": t_dense}, "fit_s_other_clock": {"dense": t_dense_other},
                   "load_before": os.getloadavg()[0]}
            fitted = {}
            for solver in ("randomized", "arpack"):
                est = LoFiTransformer(n_layers=1, width=P, n_components=K, eig_solver=solver, random_state=0,
                                      n_jobs=N_JOBS)
                with count_dense_fallbacks() as calls:
                    t, est, t_other = timed(lambda: clone(est).fit(X_train, y_train))
                row["fit_s"][solver], row["fit_s_other_clock"][solver] = t, t_other
                if solver == "arpack":
                    row["arpack_dense_fallbacks"] = None if calls is None else calls[0]
                row[f"same_weights_{solver}"] = bool(np.array_equal(est.random_weights_[0], dense.random_weights_[0]))
                row[f"errors_{solver}"] = subspace_errors(V_dense[:, :K], values_dense[:K],
                                                          est.components_[0], est.eigenvalues_[0])
                fitted[solver] = est
            row["gap"] = spectral_gap(values_dense, K)
            row["ratio_fit"] = t_dense / row["fit_s"]["randomized"]
            row["ratio_solver_only"] = (t_dense - t_lift) / max(row["fit_s"]["randomized"] - t_lift, 1e-9)
            row["clf_fit_s"], row["clf_fit_s_other_clock"], row["accuracy"] = {}, {}, {}
            for solver in ("dense", "randomized"):
                clf = NeuralLoFiClassifier(width=P, n_components=K, eig_solver=solver, random_state=0,
                                           n_jobs=N_JOBS)
                t, clf, t_other = timed(lambda: clone(clf).fit(X_train, y_train))
                row["clf_fit_s"][solver], row["clf_fit_s_other_clock"][solver] = t, t_other
                row["accuracy"][solver] = float(clf.score(X_test, y_test))
            row["accuracy_difference"] = row["accuracy"]["dense"] - row["accuracy"]["randomized"]
            row["load_after"] = os.getloadavg()[0]
            rows.append(row)
            e = row["errors_randomized"]
            log(f"  P={P} K={K}: randomized {row['fit_s']['randomized']:.2f} s, arpack "
                f"{row['fit_s']['arpack']:.2f} s, dense/randomized {row['ratio_fit']:.1f}x "
                f"(solver only {row['ratio_solver_only']:.1f}x), sin_max {e['sin_max']:.2e}, "
                f"acc {row['accuracy']['dense']:.4f} vs {row['accuracy']['randomized']:.4f}")
    return rows


def lift_like(transformer, X):
    """The fitted first layer's lift of ``X``, as the fit computes it."""
    from sklearn_lofi._threads import numba_threads

    with numba_threads(transformer.n_jobs) as n_threads:
        return _stack.lift(X, transformer.random_weights_[0], transformer.normalizers_[0],
                           transformer.activation, transformer.degree, n_threads)


# ----------------------------------------------------------------------------- part 2


def randomized_step(Z, Y, weights, K, seed):
    out = _spectral.randomized_top_directions(Z, Y, weights, K, random_state=np.random.RandomState(seed))
    values, vectors = out[0], out[1]
    projected = out[3] if len(out) > 3 else Z @ vectors  # newer versions return Z @ V
    return values, vectors, projected


def formed_step(T, Z, K, solver, seed):
    values, vectors, _ = _spectral.top_directions(T, K, eig_solver=solver, random_state=np.random.RandomState(seed))
    return values, vectors, Z @ vectors


def part2(config, data_dir):
    from sklearn_lofi._stack import draw_weights

    X_all, y_all = load_fars(data_dir)
    log(f"part 2: fars, {X_all.shape[0]} rows, {X_all.shape[1]} features")
    components = config["part2_components"]
    rows = []
    for n in config["part2_rows"]:
        chosen = np.random.RandomState(0).choice(X_all.shape[0], size=n, replace=False)
        X = StandardScaler().fit_transform(X_all[chosen])
        for P in config["part2_widths"]:
            W = draw_weights(np.random.RandomState(0), X.shape[1], P, X.dtype)
            weights = np.ones(n)
            normalizer = math.sqrt(float(np.mean(np.einsum("ij,ij->i", X, X))))
            Z = _stack.lift(X, W, normalizer, "relu", None, 1 if N_JOBS is None else N_JOBS)
            for kind in ("binary", "multiclass"):
                Y = operator_labels(y_all[chosen], kind)
                m = Y.shape[1]
                n_groups = 2 if kind == "binary" else int(np.unique(y_all[chosen]).size)
                t_moments, T, t_moments_other = timed(lambda: _spectral.label_moments(Z, Y, weights))
                K_dense = min(max(components) + 1, P)
                t_dense, (values_d, V_d, _), t_dense_other = timed(lambda: formed_step(T, Z, K_dense, "dense", 1))
                for K in components:
                    row = {"n": n, "P": P, "K": K, "label": kind, "m": m, "groups": n_groups,
                           "moments_s": t_moments, "dense_solve_s": t_dense, "load_before": os.getloadavg()[0]}
                    with count_dense_fallbacks() as calls:
                        t_arpack, (values_a, V_a, _), t_arpack_other = timed(lambda: formed_step(T, Z, K, "arpack", 1))
                    row["arpack_dense_fallbacks"] = None if calls is None else calls[0]
                    t_rand, (values_r, V_r, _), t_rand_other = timed(lambda: randomized_step(Z, Y, weights, K, 1))
                    row["time_s"] = {"dense": t_moments + t_dense, "arpack": t_moments + t_arpack,
                                     "randomized": t_rand}
                    row["time_s_other_clock"] = {"dense": t_moments_other + t_dense_other,
                                                 "arpack": t_moments_other + t_arpack_other,
                                                 "randomized": t_rand_other}
                    row["arpack_solve_s"] = t_arpack
                    row["errors_randomized"] = subspace_errors(V_d[:, :K], values_d[:K], V_r, values_r)
                    row["errors_arpack"] = subspace_errors(V_d[:, :K], values_d[:K], V_a, values_a)
                    row["gap"] = spectral_gap(values_d, K)
                    row["load_after"] = os.getloadavg()[0]
                    rows.append(row)
                    ts = row["time_s"]
                    log(f"  n={n} P={P} K={K} {kind}: dense {ts['dense']:.3f} arpack {ts['arpack']:.3f} "
                        f"randomized {ts['randomized']:.3f} s; randomized sin_max "
                        f"{row['errors_randomized']['sin_max']:.1e}, fallbacks {row['arpack_dense_fallbacks']}")
                del T
            del Z
    return rows


# ----------------------------------------------------------------------------- cost models and rules

N_OVERSAMPLES, N_POWER_ITER = 10, 6  # the randomized solver's defaults


def cost_terms(solver, n, P, K, m, groups):
    """Flop-count terms (in 1e9 flops) of one layer step; the model is a
    non-negative combination of them plus a constant."""
    b = min(P, K + N_OVERSAMPLES)
    moments = 2.0 * n * P**2 + (2.0 * groups * m * P**2 if m > 1 else 0.0)
    unfolding = 2.0 * m * P**3 if m > 1 else 0.0
    if solver == "dense":
        terms = [moments, unfolding, P**3]
    elif solver == "arpack":
        terms = [moments, unfolding, K * P**2]
    else:  # one application = passes over Z with thin products; per label column for vector labels
        passes = (N_POWER_ITER + 1) * 2.0 * n * P * b
        terms = [2 * passes if m == 1 else 0.0, passes * m if m > 1 else 0.0, (N_POWER_ITER + 1) * P * b**2]
    return [1.0] + [t / 1e9 for t in terms]


TERM_NAMES = {
    "dense": ["overhead s", "s/Gflop operator 2nP^2(+2GmP^2)", "s/Gflop unfolding 2mP^3", "s/Gflop eigh P^3"],
    "arpack": ["overhead s", "s/Gflop operator 2nP^2(+2GmP^2)", "s/Gflop unfolding 2mP^3", "s/Gflop Lanczos K P^2"],
    "randomized": ["overhead s", "s/Gflop scalar passes 4(q+1)nPb", "s/Gflop vector passes 2(q+1)nPbm",
                   "s/Gflop QR (q+1)Pb^2"],
}


def fit_cost_models(cells):
    """Non-negative least squares on relative error, one model per solver."""
    models = {}
    for solver in SOLVERS:
        A = np.array([cost_terms(solver, c["n"], c["P"], c["K"], c["m"], c["groups"]) for c in cells])
        t = np.array([c["time_s"][solver] for c in cells])
        coef, _ = nnls(A / t[:, None], np.ones(len(t)))
        predicted = A @ coef
        models[solver] = {
            "coef": coef.tolist(), "terms": TERM_NAMES[solver],
            "median_abs_rel_error": float(np.median(np.abs(predicted / t - 1))),
            "max_abs_rel_error": float(np.max(np.abs(predicted / t - 1))),
        }
    return models


def predict(models, solver, n, P, K, m, groups):
    return float(np.dot(models[solver]["coef"], cost_terms(solver, n, P, K, m, groups)))


def rule_head(n, P, K, m, groups):
    """``auto`` before the cost model (up to commit 2800233): ARPACK for P >= 200 and K <= P/4, else dense."""
    return "arpack" if P >= 200 and K <= 0.25 * P else "dense"


def rule_library(n, P, K, m, groups):
    """The library's own ``choose_eig_solver`` when it has one (None otherwise)."""
    choose = getattr(_spectral, "choose_eig_solver", None)
    if choose is None:
        return None
    return choose(n, P, K, m, groups if m > 1 else None, 8, 1024 * 2**20)


def rule_eigh_term(n, P, K, m, groups):
    """A candidate ``auto``: compare flop counts, the eigensolve included.

    randomized when its passes over Z, (q + 1) * 4 n P b flops (scalar label,
    b = K + 10) or (q + 1) * 2 n P b m (vector label), cost less than
    forming the operator and taking its full eigh, 2 n P^2 + 2 m P^3 [m > 1]
    + P^3 flops with the eigh weighted by 4 (LAPACK's tridiagonalisation runs
    far below GEMM speed); otherwise ARPACK for P >= 200 and K <= P/4, else dense.
    """
    b = min(P, K + N_OVERSAMPLES)
    passes = (N_POWER_ITER + 1) * (4.0 * n * P * b if m == 1 else 2.0 * n * P * b * m)
    formed = 2.0 * n * P**2 + (2.0 * m * P**3 if m > 1 else 0.0) + 4.0 * P**3
    if passes < formed:
        return "randomized"
    return "arpack" if P >= 200 and K <= 0.25 * P else "dense"


def evaluate_rules(cells, models):
    """Each rule's time over the per-cell best: geometric mean, worst, and misses."""
    rules = {
        "always dense": lambda *a: "dense",
        "always arpack": lambda *a: "arpack",
        "always randomized": lambda *a: "randomized",
        "previous auto (arpack if P>=200 and K<=P/4)": rule_head,
        "fitted cost model (argmin)": lambda n, P, K, m, g: min(SOLVERS, key=lambda s: predict(models, s, n, P, K, m, g)),
        "flops with an eigh term": rule_eigh_term,
    }
    if rule_library(2000, 1024, 32, 1, 2) is not None:
        rules["library choose_eig_solver (this version)"] = rule_library
    report = {}
    for name, rule in rules.items():
        slowdowns, picks, worst_cell, randomized_errors = [], {s: 0 for s in SOLVERS}, None, []
        for c in cells:
            choice = rule(c["n"], c["P"], c["K"], c["m"], c["groups"])
            picks[choice] += 1
            slowdown = c["time_s"][choice] / min(c["time_s"].values())
            slowdowns.append(slowdown)
            if worst_cell is None or slowdown > worst_cell[0]:
                worst_cell = (slowdown, {k: c[k] for k in ("n", "P", "K", "label")}, choice)
            if choice == "randomized":
                randomized_errors.append(c["errors_randomized"]["sin_max"])
        slowdowns = np.array(slowdowns)
        report[name] = {
            "geomean_slowdown": float(np.exp(np.mean(np.log(slowdowns)))),
            "max_slowdown": float(slowdowns.max()), "worst_cell": worst_cell,
            "cells_within_10pct": int(np.sum(slowdowns <= 1.10)), "n_cells": len(cells),
            "picks": picks,
            "max_sin_where_randomized": max(randomized_errors) if randomized_errors else None,
        }
    return report


def analyse(results):
    cells = results["part2"]
    analysis = {"cost_models": fit_cost_models(cells)}
    analysis["rules"] = evaluate_rules(cells, analysis["cost_models"])
    analysis["best_per_cell"] = [
        {k: c[k] for k in ("n", "P", "K", "label")} | {"best": min(c["time_s"], key=c["time_s"].get)}
        for c in cells
    ]
    # Out of sample: the models (fitted on part 2) against part 1's solver-only times.
    checks = []
    for row in results.get("part1", []):
        n, P, K = row["n_train"], row["P"], row["K"]
        entry = {"P": P, "K": K}
        for solver in SOLVERS:
            measured = row["fit_s"][solver] - row["lift_s"]
            entry[solver] = {"measured": measured,
                             "predicted": predict(analysis["cost_models"], solver, n, P, K, 1, 2)}
        checks.append(entry)
    analysis["part1_prediction"] = checks
    return analysis


# ----------------------------------------------------------------------------- tables


def rst_table(header, rows):
    cells = [header] + [[str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells[1:]]
    return "\n".join(lines + [rule])


def fmt_s(t):
    return f"{t:.3f}" if t < 1 else f"{t:.2f}" if t < 10 else f"{t:.1f}"


def tables(results):
    out = []
    if results.get("part1"):
        out.append("Part 1, times (s)\n\n" + rst_table(
            ["P", "K", "lift", "dense", "arpack", "randomized", "dense/rand", "solver-only", "clf dense",
             "clf rand", "clf ratio"],
            [[r["P"], r["K"], fmt_s(r["lift_s"]), fmt_s(r["fit_s"]["dense"]), fmt_s(r["fit_s"]["arpack"]),
              fmt_s(r["fit_s"]["randomized"]), f"{r['ratio_fit']:.1f}x", f"{r['ratio_solver_only']:.1f}x",
              fmt_s(r["clf_fit_s"]["dense"]), fmt_s(r["clf_fit_s"]["randomized"]),
              f"{r['clf_fit_s']['dense'] / r['clf_fit_s']['randomized']:.1f}x"] for r in results["part1"]]))
        out.append("Part 1, accuracy\n\n" + rst_table(
            ["P", "K", "gap", "sin max", "sin F", "abs-sum deficit", "arpack sin max", "acc dense", "acc rand",
             "difference"],
            [[r["P"], r["K"], "-" if r["gap"] is None else f"{r['gap']:.3f}",
              f"{r['errors_randomized']['sin_max']:.1e}", f"{r['errors_randomized']['sin_frobenius']:.1e}",
              f"{r['errors_randomized']['value_deficit']:.1e}", f"{r['errors_arpack']['sin_max']:.1e}",
              f"{r['accuracy']['dense']:.4f}", f"{r['accuracy']['randomized']:.4f}",
              f"{r['accuracy_difference']:+.4f}"] for r in results["part1"]]))
    if results.get("part2"):
        body = []
        for c in results["part2"]:
            t = c["time_s"]
            best = min(t, key=t.get)
            body.append([c["n"], c["P"], c["K"], "bin" if c["label"] == "binary" else f"{c['m']}-cls",
                         *[("**" + fmt_s(t[s]) + "**") if s == best else fmt_s(t[s]) for s in SOLVERS],
                         f"{t['dense'] / t['randomized']:.1f}", f"{c['errors_randomized']['sin_max']:.1e}",
                         f"{c['errors_randomized']['value_deficit']:.0e}",
                         "-" if c["gap"] is None else f"{c['gap']:.2f}",
                         c["arpack_dense_fallbacks"]])
        out.append("Part 2, layer step (s; best in bold)\n\n" + rst_table(
            ["n", "P", "K", "label", "dense", "arpack", "randomized", "dense/rand", "rand sin max",
             "rand deficit", "gap", "arpack fallbacks"], body))
    if results.get("analysis"):
        a = results["analysis"]
        out.append("Cost models (non-negative least squares on relative error)\n\n" + rst_table(
            ["solver", "coefficients", "median rel. error", "max rel. error"],
            [[s, "; ".join(f"{name} {v:.3g}" for name, v in zip(m["terms"], m["coef"])),
              f"{m['median_abs_rel_error']:.2f}", f"{m['max_abs_rel_error']:.2f}"]
             for s, m in a["cost_models"].items()]))
        out.append("Rules against the per-cell best\n\n" + rst_table(
            ["rule", "geo-mean slowdown", "worst", "worst cell", "within 10%", "picks d/a/r",
             "max rand sin where chosen"],
            [[name, f"{r['geomean_slowdown']:.2f}x", f"{r['max_slowdown']:.1f}x",
              "n={n} P={P} K={K} {label}".format(**r["worst_cell"][1]) + f" ({r['worst_cell'][2]})",
              f"{r['cells_within_10pct']}/{r['n_cells']}",
              "/".join(str(r["picks"][s]) for s in SOLVERS),
              "-" if r["max_sin_where_randomized"] is None else f"{r['max_sin_where_randomized']:.1e}"]
             for name, r in a["rules"].items()]))
        if a.get("part1_prediction"):
            out.append("Cost models (from part 2) against part 1's solver-only times (s)\n\n" + rst_table(
                ["P", "K"] + [f"{s} measured / predicted" for s in SOLVERS],
                [[e["P"], e["K"]] + [f"{fmt_s(e[s]['measured'])} / {fmt_s(e[s]['predicted'])}" for s in SOLVERS]
                 for e in a["part1_prediction"]]))
    return "\n\n".join(out) + "\n"


# ----------------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test on small sizes (< 1 minute)")
    parser.add_argument("--json", metavar="PATH", help="save raw numbers and the analysis as JSON")
    parser.add_argument("--rst", metavar="PATH", help="save the tables as reStructuredText")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="folder of the shared data sets")
    parser.add_argument("--parts", default="1,2", help="which parts to run (default 1,2)")
    parser.add_argument("--analyse", metavar="JSON", help="only re-analyse saved measurements")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS/LAPACK threads (threadpoolctl; default: leave as configured)")
    parser.add_argument("--n-jobs", type=int, default=None, help="n_jobs of the estimators and the lift")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="clock of the tables: wall, or process CPU time (use with --blas-threads 1 "
                             "--n-jobs 1 on a shared machine); both are saved")
    for key in ("part1_widths", "part1_components", "part2_rows", "part2_widths", "part2_components"):
        parser.add_argument("--" + key.replace("_", "-"), metavar="A,B,...", help="override the grid")
    args = parser.parse_args(argv)
    global N_JOBS, CLOCK, STAND_IN
    N_JOBS, CLOCK, STAND_IN = args.n_jobs, args.clock, args.quick
    if CLOCK == "cpu" and (args.blas_threads != 1 or args.n_jobs != 1):
        log("warning: --clock cpu sums the CPU time of all threads; use --blas-threads 1 --n-jobs 1")

    if args.analyse:
        results = json.loads(Path(args.analyse).read_text())
        CLOCK = results.get("clock", "wall")
    else:
        config = dict(QUICK if args.quick else FULL)
        for key in ("part1_widths", "part1_components", "part2_rows", "part2_widths", "part2_components"):
            if getattr(args, key):
                config[key] = tuple(int(v) for v in getattr(args, key).split(","))
        parts = {p.strip() for p in args.parts.split(",")}
        with blas_threads(args.blas_threads):
            machine = machine_info()
        results = {"command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0]] + list(argv or sys.argv[1:])),
                   "config": config, "machine": machine, "load_start": os.getloadavg(),
                   "repeat_policy": f"best of up to {MAX_REPEATS} while under {REPEAT_BELOW} s, else one run"}
        results["blas_threads"], results["n_jobs"], results["clock"] = args.blas_threads, args.n_jobs, CLOCK
        start = time.perf_counter()
        with warnings.catch_warnings(), blas_threads(args.blas_threads):
            warnings.simplefilter("ignore", UserWarning)  # "fewer directions kept" is recorded, not printed
            if "1" in parts:
                results["part1"] = part1(config, args.data_dir)
            if "2" in parts:
                results["part2"] = part2(config, args.data_dir)
        results["wall_time_s"] = time.perf_counter() - start
        results["load_end"] = os.getloadavg()
    if results.get("part2"):
        results["analysis"] = analyse(results)
    text = tables(results)
    print(text)
    if args.rst:
        Path(args.rst).write_text(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1, default=float) + "\n")
    if "wall_time_s" in results and not args.analyse:
        log(f"wall time {results['wall_time_s']:.0f} s")


if __name__ == "__main__":
    main()
