"""Emergence of planted directions: overlap against n/d, and the spectral-outlier threshold.

Synthetic data with ``x ~ N(0, I_d)`` and labels that depend on hidden
directions only through their squares (``sklearn_lofi.datasets``). One
filtered layer, ``LoFiTransformer(n_layers=1, eig_solver="dense")``, is fitted
for each cell of an ``alpha = n/d`` grid, each ``d`` and each seed, and its
kept directions are compared with the planted ones. Four experiments:

``single``
    ``make_quadratic_index``, targets ``"regression"`` (He2) and
    ``"balanced"`` (sign, balanced classes), ``K = 1``. Three measures:

    * ``identity`` lift (width ``P = 4d``): the learned feature is linear in
      ``x`` with direction ``a = W v1``; overlap ``cos^2(a, u)``. At large
      ``n`` it tends to ``cos^2(W W^T u, u) ~ 1 / (1 + d/P) = 0.8``, not 1
      (the ``W v`` mixing: the lift distorts x-space by ``W W^T / P``); the
      measured ceiling of every fit is stored (``mixing_ceiling``).
    * the ``P = infinity`` limit of the identity lift, which is exactly the
      classical spectral method on ``x``: top eigenvector by ``|eigenvalue|``
      of ``X^T diag(t) X / n`` with the same operator labels ``t`` as the
      library (centred, unit RMS). Computed with NumPy (``reference``), with
      its top eigenvalue and the top one of shuffled labels (the bulk edge).
    * ``relu`` lift (``P = 4d``): the linear part ``cos^2(W v1, u)`` and the
      representation-free ``feature overlap``: the multiple correlation, on
      4000 fresh rows, of ``He2(<u, x>)`` with ``(f, f^2)``, ``f`` = first
      column of ``transform``. For a linear feature ``f = <a, x>`` it equals
      ``cos^2(a, u)`` exactly (Gaussian ``x``), so both measures share a scale.
      A diagnostic, not a library option, recomputes the same layer with the
      *lifted features centred* (same ``W`` and normaliser, NumPy).

``relu_long``
    The ReLU lift again at ``d`` in {50, 100} out to ``n/d = 200``.

``graded``
    ``make_graded_quadratic_indices`` with strengths (1.0, 0.6, 0.3), identity
    lift ``P = 4d`` and ``K = 3`` (plus its ``P = infinity`` reference):
    overlap ``|Proj_span(W V) u_k|^2`` of each planted direction with the span
    of the kept directions mapped to x-space.

``unbalanced``
    ``target="unbalanced"`` (``E[y] = -0.365``), identity lift, ``K = 1``,
    ``label_centering`` True against False; sign of the top eigenvalue.

Every measured curve is the mean +- sd over seeds; the threshold
``alpha_0.4`` is the (log-interpolated) first ``n/d`` where the seed-mean
overlap reaches 0.4. Predictions for the sign targets come from the exact
asymptotic theory of spectral estimators with a bounded label weight (Lu & Li
2017; Mondelli & Montanari 2018), computed here and checked against the
``P = infinity`` reference; doc/paper/emergence.rst has the derivation.

Run (about 10 minutes on 2 cores)::

    python benchmarks/emergence.py --json benchmarks/results/emergence.json \\
        --plot doc/_static/emergence.png

``--plot PATH`` also writes ``PATH`` with ``_graded`` before the suffix.
Small version (about 20 seconds)::

    python benchmarks/emergence.py --quick
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

from scipy.optimize import brentq, minimize_scalar
from scipy.stats import chi2

from sklearn_lofi import LoFiTransformer
from sklearn_lofi.datasets import make_graded_quadratic_indices, make_quadratic_index

DIMENSIONS = [50, 100, 200]
ALPHAS = [float(a) for a in np.round(np.geomspace(0.25, 20, 12), 3)]
LONG_ALPHAS = [5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
GRADED_ALPHAS = [float(a) for a in np.round(np.geomspace(0.5, 100, 10), 3)]
STRENGTHS = (1.0, 0.6, 0.3)
WIDTH_FACTOR = 4
N_TEST = 4000
LEVEL = 0.4
CHI2_1_MEDIAN = float(chi2.ppf(0.5, 1))


# ---------------------------------------------------------------- measures

def he2(t):
    return (t**2 - 1.0) / np.sqrt(2.0)


def feature_overlap(f, target):
    """Multiple correlation of ``target`` with ``(1, f, f^2)``: ``cos^2(a, u)`` when ``f = <a, x>``."""
    A = np.column_stack([np.ones_like(f), f, f * f])
    coef, *_ = np.linalg.lstsq(A, target, rcond=None)
    fit = A @ coef
    if fit.std() == 0:
        return 0.0
    return float(max(np.corrcoef(fit, target)[0, 1], 0.0))


def span_overlaps(A, U):
    """``|Proj_span(A) u_k|^2`` for each row ``u_k`` of ``U`` (columns of ``A`` span the subspace)."""
    Q, _ = np.linalg.qr(A)
    return [float(v) for v in np.sum((U @ Q) ** 2, axis=1)]


def operator_labels(y, centre):
    """The labels the library hands its operator: optionally centred, unit RMS."""
    t = np.asarray(y, dtype=np.float64)
    if centre:
        t = t - t.mean()
    return t / np.sqrt(np.mean(t * t))


def top_by_abs(M, k):
    values, vectors = np.linalg.eigh(M)
    order = np.argsort(-np.abs(values), kind="stable")[:k]
    return values[order], vectors[:, order]


def reference(X, t, k, rng):
    """The P = infinity identity lift: the signed covariance of x itself, and of shuffled labels."""
    n = X.shape[0]
    values, vectors = top_by_abs(X.T @ (t[:, None] * X) / n, k)
    s = t[rng.permutation(n)]
    null_values, _ = top_by_abs(X.T @ (s[:, None] * X) / n, 1)
    return values, vectors, float(null_values[0])


def lofi(activation, d, k, seed, centring=True):
    return LoFiTransformer(n_layers=1, width=WIDTH_FACTOR * d, n_components=k, activation=activation,
                           label_centering=centring, eig_solver="dense", random_state=seed)


def centred_relu_diagnostic(model, X, y, X_test):
    """The same ReLU layer (same W, normaliser) with its lifted features centred before the operator."""
    W, c = model.random_weights_[0], model.normalizers_[0]
    Z = np.maximum(X @ W / c, 0.0)
    mean = Z.mean(axis=0)
    Z -= mean
    t = operator_labels(y, True)
    _, V = top_by_abs(Z.T @ (t[:, None] * Z) / len(t), 1)
    return (np.maximum(X_test @ W / c, 0.0) - mean) @ V[:, 0]


def test_rows(d, seed):
    return np.random.RandomState(10_000 + seed).standard_normal((N_TEST, d))


# ------------------------------------------------------------- experiments

def run_single(targets, dims, alphas, seeds, with_relu=True):
    rows = []
    for target in targets:
        for d in dims:
            X_test = {s: test_rows(d, s) for s in seeds}
            for alpha in alphas:
                n = max(int(round(alpha * d)), 2)
                for seed in seeds:
                    X, y, u = make_quadratic_index(n, d, target=target, random_state=seed)
                    planted = he2(X_test[seed] @ u)
                    t = operator_labels(y, True)
                    values, vectors, null_top = reference(X, t, 1, np.random.RandomState(seed))
                    row = {"target": target, "d": d, "alpha": alpha, "n": n, "seed": seed,
                           "reference_overlap": float((vectors[:, 0] @ u) ** 2),
                           "reference_top": float(values[0]), "reference_null_top": null_top,
                           "reference_top_abs": float(abs(values[0])), "reference_null_top_abs": abs(null_top)}
                    model = lofi("identity", d, 1, seed).fit(X, y)
                    W = model.random_weights_[0]
                    a = W @ model.components_[0][:, 0]
                    row["identity_overlap"] = float((a @ u) ** 2 / (a @ a))
                    row["identity_feature_overlap"] = feature_overlap(model.transform(X_test[seed])[:, 0], planted)
                    b = W @ (W.T @ u)
                    row["mixing_ceiling"] = float((b @ u) ** 2 / (b @ b))
                    if with_relu:
                        model = lofi("relu", d, 1, seed).fit(X, y)
                        a = model.random_weights_[0] @ model.components_[0][:, 0]
                        row["relu_linear_overlap"] = float((a @ u) ** 2 / (a @ a))
                        row["relu_feature_overlap"] = feature_overlap(model.transform(X_test[seed])[:, 0], planted)
                        row["relu_centred_feature_overlap"] = feature_overlap(
                            centred_relu_diagnostic(model, X, y, X_test[seed]), planted)
                    rows.append(row)
    return rows


def run_relu_long(targets, dims, alphas, seeds):
    rows = []
    for target in targets:
        for d in dims:
            for alpha in alphas:
                n = int(round(alpha * d))
                for seed in seeds:
                    X, y, u = make_quadratic_index(n, d, target=target, random_state=seed)
                    X_test = test_rows(d, seed)
                    planted = he2(X_test @ u)
                    model = lofi("relu", d, 1, seed).fit(X, y)
                    rows.append({
                        "target": target, "d": d, "alpha": alpha, "n": n, "seed": seed,
                        "relu_feature_overlap": feature_overlap(model.transform(X_test)[:, 0], planted),
                        "relu_centred_feature_overlap": feature_overlap(
                            centred_relu_diagnostic(model, X, y, X_test), planted),
                    })
    return rows


def run_graded(dims, alphas, seeds, strengths):
    rows = []
    k = len(strengths)
    for d in dims:
        for alpha in alphas:
            n = int(round(alpha * d))
            for seed in seeds:
                X, y, U = make_graded_quadratic_indices(n, d, strengths=strengths, random_state=seed)
                model = lofi("identity", d, k, seed).fit(X, y)
                mapped = model.random_weights_[0] @ model.components_[0]
                _, vectors, _ = reference(X, operator_labels(y, True), k, np.random.RandomState(seed))
                rows.append({"d": d, "alpha": alpha, "n": n, "seed": seed,
                             "identity_overlaps": span_overlaps(mapped, U),
                             "reference_overlaps": span_overlaps(vectors, U)})
    return rows


def run_unbalanced(dims, alphas, seeds):
    rows = []
    for d in dims:
        for alpha in alphas:
            n = max(int(round(alpha * d)), 2)
            for seed in seeds:
                X, y, u = make_quadratic_index(n, d, target="unbalanced", random_state=seed)
                for centring in (True, False):
                    model = lofi("identity", d, 1, seed, centring).fit(X, y)
                    a = model.random_weights_[0] @ model.components_[0][:, 0]
                    values, vectors, _ = reference(X, operator_labels(y, centring), 1, np.random.RandomState(seed))
                    rows.append({"d": d, "alpha": alpha, "n": n, "seed": seed, "label_centering": centring,
                                 "identity_overlap": float((a @ u) ** 2 / (a @ a)),
                                 "identity_top": float(model.eigenvalues_[0][0]),
                                 "reference_overlap": float((vectors[:, 0] @ u) ** 2),
                                 "reference_top": float(values[0])})
    return rows


def run_theory_check(d, alphas, seeds):
    """The P = infinity reference at a larger d against the asymptotic theory (sign targets)."""
    rows = []
    for target, centring in (("balanced", True), ("unbalanced", True), ("unbalanced", False)):
        for alpha in alphas:
            n = int(round(alpha * d))
            for seed in seeds:
                X, y, u = make_quadratic_index(n, d, target=target, random_state=seed)
                t = operator_labels(y, centring)
                values, vectors = np.linalg.eigh(X.T @ (t[:, None] * X) / n)
                top = np.argmax(np.abs(values))
                rows.append({"case": f"{target}_{'centred' if centring else 'uncentred'}", "alpha": alpha,
                             "seed": seed, "top": float(values[top]), "top_overlap": float((vectors[:, top] @ u) ** 2),
                             "largest": float(values[-1]), "smallest": float(values[0]),
                             # the largest eigenvalue of the bulk: the second largest when an outlier is out
                             "second_largest": float(values[-2])})
    return rows


# ------------------------------------------------------------------ theory

def label_law(target, centring):
    """Values, probabilities and ``E[z^2; value]`` of the operator label of a sign target (z = <u, x>)."""
    threshold = CHI2_1_MEDIAN if target == "balanced" else 1.0
    p, q = chi2.sf(threshold, 1), chi2.sf(threshold, 3)  # P(z^2 > m), E[z^2 1{z^2 > m}]
    mean = 2 * p - 1
    shift = mean if centring else 0.0
    rms = np.sqrt(1 - 2 * shift * mean + shift**2)
    return np.array([(1 - shift) / rms, (-1 - shift) / rms]), np.array([p, 1 - p]), np.array([q, 1 - q])


def spectral_theory(target, centring, alpha):
    """Asymptotic bulk edges, outliers and overlaps of ``X^T diag(t) X / n`` (bounded ``t``; Lu & Li 2017).

    ``psi(l) = l (1/alpha + E[t / (l - t)])`` and ``phi(l) = l E[t z^2 / (l - t)]``.
    The upper bulk edge is ``min psi`` over ``l > max t``, the lower one ``max psi``
    over ``l < min t``; an outlier sits at ``psi(l*)`` where ``psi(l*) = phi(l*)``
    beyond the critical point, with overlap ``psi'(l*) / (psi'(l*) - phi'(l*))``.
    ``top`` is what the ``|eigenvalue|`` rule keeps.
    """
    values, p, q = label_law(target, centring)

    def psi(l):
        return l * (1 / alpha + np.sum(p * values / (l - values)))

    def phi(l):
        return l * np.sum(q * values / (l - values))

    def slope(f, l):
        h = 1e-6 * max(1.0, abs(l))
        return (f(l + h) - f(l - h)) / (2 * h)

    hi, lo = values.max(), values.min()
    upper_at = minimize_scalar(psi, bounds=(hi + 1e-9, hi + 1e4), method="bounded",
                               options={"xatol": 1e-12}).x
    lower_at = minimize_scalar(lambda l: -psi(l), bounds=(lo - 1e4, lo - 1e-9), method="bounded",
                               options={"xatol": 1e-12}).x
    out = {"alpha": alpha, "upper_edge": float(psi(upper_at)), "lower_edge": float(psi(lower_at))}
    candidates = [(out["upper_edge"], 0.0), (out["lower_edge"], 0.0)]
    gap = lambda l: psi(l) - phi(l)  # noqa: E731
    if gap(upper_at) < 0:
        l_star = brentq(gap, upper_at, hi + 1e7)
        overlap = slope(psi, l_star) / (slope(psi, l_star) - slope(phi, l_star))
        out.update(positive_outlier=float(psi(l_star)), positive_overlap=float(overlap))
        candidates.append((psi(l_star), overlap))
    if gap(lower_at) > 0:
        l_star = brentq(gap, lo - 1e7, lower_at)
        overlap = slope(psi, l_star) / (slope(psi, l_star) - slope(phi, l_star))
        out.update(negative_outlier=float(psi(l_star)), negative_overlap=float(overlap))
        candidates.append((psi(l_star), overlap))
    value, overlap = max(candidates, key=lambda c: abs(c[0]))
    out.update(top=float(value), top_overlap=float(overlap))
    return out


def first_alpha(alphas, curve, level):
    """Log-interpolated first alpha where ``curve`` reaches ``level`` (None if it never does)."""
    for i, value in enumerate(curve):
        if value >= level:
            if i == 0:
                return float(alphas[0])
            a0, a1, c0, c1 = np.log(alphas[i - 1]), np.log(alphas[i]), curve[i - 1], value
            return float(np.exp(a0 + (level - c0) / (c1 - c0) * (a1 - a0)))
    return None


def theory_thresholds(target, centring):
    """Where the asymptotic theory puts the emergence: outlier appears, is kept by |lambda|, overlap 0.4."""
    emerge = brentq(lambda a: spectral_theory(target, centring, a).get("positive_overlap", 0.0) - 1e-9, 0.05, 50)
    kept = brentq(lambda a: spectral_theory(target, centring, a)["top_overlap"] - 1e-9, 0.05, 2000)
    level = brentq(lambda a: spectral_theory(target, centring, a)["top_overlap"] - LEVEL, 0.05, 2000)
    return {"outlier_appears": float(emerge), "kept_by_abs_rule": float(kept), f"overlap_{LEVEL}": float(level)}


def heuristics(theta, second_moment=1.0):
    """The usual estimate: bulk half-width 2 sqrt(E[t^2] d / n) against the spike theta (and the Wigner-type BBP)."""
    return {"theta": theta, "edge_crossing": 4 * second_moment / theta**2, "wigner_bbp": second_moment / theta**2}


def relu_mean_crossover(theta, d):
    """Heuristic n/d below which the uncentred ReLU layer's top direction is feature mean x label noise.

    ReLU features share the mean ``m = c0 / sqrt(P) * 1`` (``|m| = c0``); the
    operator holds ``m r^T + r m^T`` with ``r = E_n[t (z - m)]``, whose noise
    has norm ``sqrt(v / n)`` (``v = Var relu(g)``): an eigenvalue
    ``c0 sqrt(v / n)``, against ``c1^2 theta / d`` for the planted linear part
    (``c0 = 1/sqrt(2 pi)``, ``c1 = 1/2``). They are equal at
    ``n/d = c0^2 v d / (c1^4 theta^2) ~ 0.87 d / theta^2``: n of order d^2.
    """
    c0, c1, v = 1 / np.sqrt(2 * np.pi), 0.5, 0.5 - 1 / (2 * np.pi)
    return float(c0**2 * v * d / (c1**4 * theta**2))


def signal_strengths():
    p_bal, q_bal = chi2.sf(CHI2_1_MEDIAN, 1), chi2.sf(CHI2_1_MEDIAN, 3)
    p_unb, q_unb = chi2.sf(1.0, 1), chi2.sf(1.0, 3)
    mean_unb = 2 * p_unb - 1
    return {
        # theta = E[t (z^2 - 1)] for the unit-RMS operator label t
        "regression": np.sqrt(2.0),
        "balanced": (2 * q_bal - 1) - (2 * p_bal - 1),
        "unbalanced_uncentred": (2 * q_unb - 1) - mean_unb,
        "unbalanced_centred": ((2 * q_unb - 1) - mean_unb) / np.sqrt(1 - mean_unb**2),
        "unbalanced_mean": mean_unb,
    }


# --------------------------------------------------------------- summaries

def aggregate(rows, keys, group):
    """Mean and sd over seeds of each ``key``, per group (a tuple of row fields)."""
    table = {}
    for row in rows:
        table.setdefault(tuple(row[g] for g in group), []).append(row)
    out = []
    for key_values, members in sorted(table.items()):
        entry = dict(zip(group, key_values))
        entry["seeds"] = len(members)
        for key in keys:
            values = np.array([m[key] for m in members if key in m], dtype=float)
            if values.size:
                entry[key] = [float(v) for v in np.atleast_1d(values.mean(axis=0))] if values.ndim > 1 \
                    else float(values.mean())
                entry[key + "_sd"] = [float(v) for v in np.atleast_1d(values.std(axis=0))] if values.ndim > 1 \
                    else float(values.std())
        out.append(entry)
    return out


def curve(summary, key, index=None, **where):
    picked = [s for s in summary if all(s[k] == v for k, v in where.items()) and key in s]
    alphas = np.array([s["alpha"] for s in picked])
    means = np.array([s[key] if index is None else s[key][index] for s in picked])
    sds = np.array([s[key + "_sd"] if index is None else s[key + "_sd"][index] for s in picked])
    return alphas, means, sds


def thresholds(summary, key, dims, level=LEVEL, index=None, **where):
    out = {}
    for d in dims:
        alphas, means, _ = curve(summary, key, index=index, d=d, **where)
        out[str(d)] = first_alpha(alphas, means, level) if alphas.size else None
    return out


def fmt(value, digits=2):
    return "  -- " if value is None else f"{value:.{digits}f}"


def print_curves(title, summary, keys, dims, **where):
    print(f"\n{title}")
    header = f"{'d':>4} {'n/d':>7} " + " ".join(f"{k:>22}" for k in keys)
    print(header)
    for d in dims:
        alphas = curve(summary, keys[0], d=d, **where)[0]
        for alpha in alphas:
            entry = next(s for s in summary if s["d"] == d and s["alpha"] == alpha
                         and all(s[k] == v for k, v in where.items()))
            cells = []
            for key in keys:
                value = entry.get(key)
                if isinstance(value, list):
                    cells.append(" ".join(f"{v:.2f}" for v in value).rjust(22))
                elif value is None:
                    cells.append(" " * 22)
                else:
                    cells.append(f"{value:.3f} +- {entry[key + '_sd']:.3f}".rjust(22))
            print(f"{d:>4} {alpha:>7.2f} " + " ".join(cells))


# -------------------------------------------------------------------- main

def run(dims, alphas, seeds, long_dims, long_alphas, long_seeds, graded_dims, graded_alphas, graded_seeds,
        check_d=400, check_alphas=(1.0, 2.0, 3.0, 5.0, 10.0, 20.0), check_seeds=range(4)):
    start = time.perf_counter()
    single = run_single(["regression", "balanced"], dims, alphas, seeds)
    print(f"[single done, {time.perf_counter() - start:.0f} s]", flush=True)
    long_rows = run_relu_long(["regression", "balanced"], long_dims, long_alphas, long_seeds) if long_dims else []
    print(f"[relu_long done, {time.perf_counter() - start:.0f} s]", flush=True)
    graded = run_graded(graded_dims, graded_alphas, graded_seeds, STRENGTHS)
    print(f"[graded done, {time.perf_counter() - start:.0f} s]", flush=True)
    unbalanced = run_unbalanced(dims, alphas, seeds)
    print(f"[unbalanced done, {time.perf_counter() - start:.0f} s]", flush=True)
    check = run_theory_check(check_d, list(check_alphas), list(check_seeds))
    print(f"[theory check done, {time.perf_counter() - start:.0f} s]", flush=True)

    single_keys = ["reference_overlap", "identity_overlap", "identity_feature_overlap", "mixing_ceiling",
                   "relu_linear_overlap", "relu_feature_overlap", "relu_centred_feature_overlap",
                   "reference_top", "reference_null_top", "reference_top_abs", "reference_null_top_abs"]
    single_summary = aggregate(single, single_keys, ("target", "d", "alpha"))
    long_summary = aggregate(long_rows, ["relu_feature_overlap", "relu_centred_feature_overlap"],
                             ("target", "d", "alpha"))
    graded_summary = aggregate(graded, ["identity_overlaps", "reference_overlaps"], ("d", "alpha"))
    unbalanced_summary = aggregate(unbalanced, ["identity_overlap", "reference_overlap", "identity_top",
                                                "reference_top"], ("label_centering", "d", "alpha"))
    for entry in unbalanced_summary:
        members = [r for r in unbalanced if r["d"] == entry["d"] and r["alpha"] == entry["alpha"]
                   and r["label_centering"] == entry["label_centering"]]
        entry["fraction_top_negative"] = float(np.mean([r["identity_top"] < 0 for r in members]))

    check_summary = aggregate(check, ["top", "top_overlap", "largest", "smallest", "second_largest"],
                              ("case", "alpha"))
    laws = {"balanced_centred": ("balanced", True), "unbalanced_centred": ("unbalanced", True),
            "unbalanced_uncentred": ("unbalanced", False)}
    for entry in check_summary:
        entry["theory"] = spectral_theory(*laws[entry["case"]], entry["alpha"])

    theory_alphas = [float(a) for a in np.geomspace(0.25, 200, 60)]
    theory = {
        "balanced": [spectral_theory("balanced", True, a) for a in theory_alphas],
        "unbalanced_centred": [spectral_theory("unbalanced", True, a) for a in theory_alphas],
        "unbalanced_uncentred": [spectral_theory("unbalanced", False, a) for a in theory_alphas],
    }
    theta = signal_strengths()
    predicted = {
        "regression": {"heuristic": heuristics(theta["regression"])},
        "balanced": {"heuristic": heuristics(theta["balanced"]), "exact": theory_thresholds("balanced", True)},
        "unbalanced_centred": {"heuristic": heuristics(theta["unbalanced_centred"]),
                               "exact": theory_thresholds("unbalanced", True)},
        "unbalanced_uncentred": {"heuristic": heuristics(theta["unbalanced_uncentred"]),
                                 "exact": theory_thresholds("unbalanced", False)},
    }
    measured = {}
    for target in ("regression", "balanced"):
        measured[target] = {key: thresholds(single_summary, key, dims, target=target)
                            for key in ("reference_overlap", "identity_overlap", "relu_feature_overlap",
                                        "relu_centred_feature_overlap", "relu_linear_overlap")}
        measured[target]["relu_feature_overlap_long"] = thresholds(long_summary, "relu_feature_overlap",
                                                                   long_dims, target=target)
        # width of the transition: alpha(0.6) / alpha(0.2) of the P = infinity reference
        low = thresholds(single_summary, "reference_overlap", dims, 0.2, target=target)
        high = thresholds(single_summary, "reference_overlap", dims, 0.6, target=target)
        measured[target]["reference_width_0.2_0.6"] = {
            d: (high[d] / low[d] if high[d] and low[d] else None) for d in low}
    measured["graded"] = {
        f"direction_{k}": {"strength": STRENGTHS[k],
                           "identity": thresholds(graded_summary, "identity_overlaps", graded_dims, index=k),
                           "reference": thresholds(graded_summary, "reference_overlaps", graded_dims, index=k)}
        for k in range(len(STRENGTHS))}
    measured["unbalanced"] = {
        str(c): {key: thresholds(unbalanced_summary, key, dims, label_centering=c)
                 for key in ("identity_overlap", "reference_overlap")} for c in (True, False)}
    return {
        "protocol": {
            "dims": dims, "alphas": alphas, "seeds": list(seeds), "width": f"{WIDTH_FACTOR} * d",
            "n_test": N_TEST, "level": LEVEL, "strengths": list(STRENGTHS), "long_dims": long_dims,
            "long_alphas": long_alphas, "long_seeds": list(long_seeds), "graded_dims": graded_dims,
            "graded_alphas": graded_alphas, "graded_seeds": list(graded_seeds),
            "estimator": "LoFiTransformer(n_layers=1, width=4*d, eig_solver='dense', label_centering=True "
                         "unless stated)",
        },
        "signal_strengths": {k: float(v) for k, v in theta.items()},
        "predicted_thresholds": predicted,
        "measured_thresholds": measured,
        "single": single_summary, "relu_long": long_summary, "graded": graded_summary,
        "unbalanced": unbalanced_summary, "theory": theory,
        "theory_check": {"d": check_d, "seeds": list(check_seeds), "rows": check_summary},
        "wall_time_s": time.perf_counter() - start,
    }


def report(result):
    dims = result["protocol"]["dims"]
    for target in ("regression", "balanced"):
        print_curves(f"single direction, target={target}: overlap (mean +- sd over seeds)",
                     result["single"], ["reference_overlap", "identity_overlap", "relu_feature_overlap",
                                        "relu_centred_feature_overlap"], dims, target=target)
    if result["relu_long"]:
        for target in ("regression", "balanced"):
            print_curves(f"ReLU lift to large n/d, target={target}", result["relu_long"],
                         ["relu_feature_overlap", "relu_centred_feature_overlap"],
                         result["protocol"]["long_dims"], target=target)
    print_curves("graded strengths 1.0, 0.6, 0.3: overlap of u_1, u_2, u_3 with the kept span (K = 3)",
                 result["graded"], ["identity_overlaps", "reference_overlaps"], result["protocol"]["graded_dims"])
    for centring in (True, False):
        print_curves(f"unbalanced target, label_centering={centring}", result["unbalanced"],
                     ["identity_overlap", "reference_overlap", "identity_top"], dims, label_centering=centring)
    print(f"\nthresholds alpha_{LEVEL} (first n/d where the seed-mean overlap reaches {LEVEL}), by d")
    for target, values in result["measured_thresholds"].items():
        if target == "graded":
            for name, entry in values.items():
                for key in ("identity", "reference"):
                    print(f"  graded {name} (a={entry['strength']}) {key:<10}: "
                          + ", ".join(f"d={d}: {fmt(v)}" for d, v in entry[key].items()))
        elif target == "unbalanced":
            for centring, entry in values.items():
                for key, by_d in entry.items():
                    print(f"  unbalanced centring={centring} {key:<20}: "
                          + ", ".join(f"d={d}: {fmt(v)}" for d, v in by_d.items()))
        else:
            for key, by_d in values.items():
                print(f"  {target:<10} {key:<32}: " + ", ".join(f"d={d}: {fmt(v)}" for d, v in by_d.items()))
    check = result["theory_check"]
    print(f"\nasymptotic theory against the P = infinity reference at d = {check['d']} "
          f"({len(check['seeds'])} seeds): kept eigenvalue, its overlap, bulk edges (measured / theory)")
    print(f"{'case':>22} {'n/d':>6} {'kept eigenvalue':>17} {'overlap':>15} {'largest bulk':>15} {'smallest':>15}")
    for entry in check["rows"]:
        t = entry["theory"]
        bulk = entry["second_largest"] if "positive_outlier" in t else entry["largest"]
        print(f"{entry['case']:>22} {entry['alpha']:>6.1f} {entry['top']:>8.3f} / {t['top']:<6.3f} "
              f"{entry['top_overlap']:>6.3f} / {t['top_overlap']:<6.3f} {bulk:>6.3f} / {t['upper_edge']:<6.3f} "
              f"{entry['smallest']:>6.3f} / {t['lower_edge']:<6.3f}")
    print("\npredicted (theta = E[t (z^2 - 1)] for the unit-RMS operator label t)")
    for target, entry in result["predicted_thresholds"].items():
        h = entry["heuristic"]
        line = (f"  {target:<22} theta={h['theta']:.3f}  edge-crossing 4/theta^2={h['edge_crossing']:.2f}  "
                f"Wigner-BBP 1/theta^2={h['wigner_bbp']:.2f}")
        if target in ("regression", "balanced"):
            dims = sorted(set(result["protocol"]["dims"]) | set(result["protocol"]["long_dims"]))
            line += "  ReLU mean crossover 0.87 d/theta^2: " + ", ".join(
                f"d={d}: {relu_mean_crossover(h['theta'], d):.0f}" for d in dims)
        if target == "unbalanced_uncentred":
            # the outlier E[t] + theta must also beat the negative edge |E[t]| + 2 sqrt(d/n)
            mean = result["signal_strengths"]["unbalanced_mean"]
            line += f"  |lambda| rule 4/(theta+2E[t])^2={4 / (h['theta'] + 2 * mean) ** 2:.1f}"
        if "exact" in entry:
            e = entry["exact"]
            line += (f"  exact: outlier at {e['outlier_appears']:.2f}, kept by |lambda| at "
                     f"{e['kept_by_abs_rule']:.2f}, overlap {LEVEL} at {e[f'overlap_{LEVEL}']:.2f}")
        print(line)


def _plot_band(ax, alphas, means, sds, **style):
    line, = ax.plot(alphas, means, **style)
    ax.fill_between(alphas, np.clip(means - sds, 0, 1), np.clip(means + sds, 0, 1), color=line.get_color(),
                    alpha=0.15, lw=0)
    return line


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = result["protocol"]["dims"]
    colours = dict(zip(dims, ["tab:blue", "tab:orange", "tab:green", "tab:red"]))
    theory = {k: (np.array([t["alpha"] for t in v]), v) for k, v in result["theory"].items()}
    fig, axes = plt.subplots(2, 4, figsize=(17, 7.6), sharex=False)
    for row, target in enumerate(("regression", "balanced")):
        ax = axes[row, 0]
        for d in dims:
            _plot_band(ax, *curve(result["single"], "identity_overlap", target=target, d=d), color=colours[d],
                       marker="o", ms=3, label=f"identity P=4d, d={d}")
            ax.plot(*curve(result["single"], "reference_overlap", target=target, d=d)[:2], color=colours[d],
                    ls="--", lw=1, label=f"P=inf (spectral on x), d={d}")
        if target == "balanced":
            a, t = theory["balanced"]
            keep = a <= max(result["protocol"]["alphas"]) * 1.05
            ax.plot(a[keep], np.array([x["top_overlap"] for x in t])[keep], "k:", lw=1.5,
                    label="asymptotic theory (P=inf)")
        ax.set_title(f"{target}: identity lift, $\\cos^2(Wv_1, u)$", fontsize=9)
        ax.set_ylabel("overlap")
        ax = axes[row, 1]
        for d in dims:
            _plot_band(ax, *curve(result["single"], "relu_feature_overlap", target=target, d=d),
                       color=colours[d], marker="o", ms=3, label=f"ReLU P=4d, d={d}")
            ax.plot(*curve(result["single"], "relu_centred_feature_overlap", target=target, d=d)[:2],
                    color=colours[d], ls="--", lw=1, label=f"centred features (diagnostic), d={d}")
        for d in result["protocol"]["long_dims"]:
            alphas, means, _ = curve(result["relu_long"], "relu_feature_overlap", target=target, d=d)
            ax.plot(alphas, means, color=colours[d], marker="s", ms=3, lw=1)
        ax.set_title(f"{target}: ReLU lift, feature overlap R(He2 | f, f$^2$)", fontsize=9)
        ax = axes[row, 2]
        for d in dims:
            alphas, top, _ = curve(result["single"], "reference_top_abs", target=target, d=d)
            _, null, _ = curve(result["single"], "reference_null_top_abs", target=target, d=d)
            ax.plot(alphas, top, color=colours[d], marker="o", ms=3, label=f"top eigenvalue, d={d}")
            ax.plot(alphas, null, color=colours[d], ls="--", lw=1, label=f"shuffled labels, d={d}")
        if target == "balanced":
            a, t = theory["balanced"]
            keep = a <= max(result["protocol"]["alphas"]) * 1.05
            ax.plot(a[keep], np.array([x["upper_edge"] for x in t])[keep], "k:", lw=1.5, label="theory: bulk edge")
            ax.plot(a[keep], np.array([x.get("positive_outlier", np.nan) for x in t])[keep], "k-", lw=0.8,
                    label="theory: outlier")
        ax.set_yscale("log")
        ax.set_title(f"{target}: top |eigenvalue| of $X^T$diag(t)$X/n$, and shuffled t", fontsize=9)
        for ax in axes[row, :3]:
            ax.set_xscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=6)
            ax.set_xlabel("n / d")
    ax = axes[0, 3]
    for d in dims:
        for centring, style in ((True, "-"), (False, "--")):
            alphas, means, sds = curve(result["unbalanced"], "identity_overlap", d=d, label_centering=centring)
            _plot_band(ax, alphas, means, sds, color=colours[d], ls=style, marker="o" if centring else "x", ms=3,
                       label=f"d={d}, label_centering={centring}")
    for key, style in (("unbalanced_centred", "k:"), ("unbalanced_uncentred", "k-.")):
        a, t = theory[key]
        keep = a <= max(result["protocol"]["alphas"]) * 1.05
        ax.plot(a[keep], np.array([x["top_overlap"] for x in t])[keep], style, lw=1.2,
                label=f"theory P=inf, {key.split('_')[1]}")
    ax.set_title("unbalanced sign target: identity lift, $\\cos^2(Wv_1, u)$", fontsize=9)
    ax = axes[1, 3]
    for d in dims:
        for centring, style in ((True, "-"), (False, "--")):
            picked = [s for s in result["unbalanced"] if s["d"] == d and s["label_centering"] == centring]
            ax.plot([s["alpha"] for s in picked], [s["fraction_top_negative"] for s in picked], color=colours[d],
                    ls=style, marker="o" if centring else "x", ms=3, label=f"d={d}, centring={centring}")
    ax.set_title("unbalanced: share of seeds with kept eigenvalue < 0", fontsize=9)
    for ax in axes[:, 3]:
        ax.set_xscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
        ax.set_xlabel("n / d")
    fig.suptitle(f"Emergence of a planted quadratic direction, one filtered layer, {len(result['protocol']['seeds'])}"
                 " seeds (mean, band = +- sd)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

    graded_path = Path(path).with_name(Path(path).stem + "_graded" + Path(path).suffix)
    graded_dims = result["protocol"]["graded_dims"]
    fig, axes = plt.subplots(1, len(graded_dims) + 1, figsize=(4.3 * (len(graded_dims) + 1), 3.8))
    axes = np.atleast_1d(axes)
    strength_colours = ["tab:purple", "tab:cyan", "tab:olive"]
    for ax, d in zip(axes, graded_dims):
        for k, a_k in enumerate(STRENGTHS):
            _plot_band(ax, *curve(result["graded"], "identity_overlaps", index=k, d=d),
                       color=strength_colours[k], marker="o", ms=3, label=f"$u_{k + 1}$, $a={a_k}$, P=4d")
            ax.plot(*curve(result["graded"], "reference_overlaps", index=k, d=d)[:2], color=strength_colours[k],
                    ls="--", lw=1, label=f"$u_{k + 1}$, P=inf")
        ax.set_title(f"graded strengths, d={d}, K={len(STRENGTHS)}", fontsize=9)
        ax.set_xlabel("n / d")
    ax = axes[-1]
    for k, a_k in enumerate(STRENGTHS):
        for d, marker in zip(graded_dims, "os^"):
            alphas, means, _ = curve(result["graded"], "reference_overlaps", index=k, d=d)
            ax.plot(alphas * a_k**2, means, color=strength_colours[k], marker=marker, ms=3, lw=0.8,
                    label=f"a={a_k}, d={d}")
    ax.set_title("P=inf reference against $a_k^2\\, n/d$ (collapse if threshold $\\propto d/a_k^2$)", fontsize=9)
    ax.set_xlabel("$a_k^2$ n / d")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_ylabel("$|P_{span} u_k|^2$")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(graded_path, dpi=100)
    plt.close(fig)
    return graded_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default=",".join(map(str, DIMENSIONS)))
    parser.add_argument("--alphas", default=",".join(map(str, ALPHAS)), help="n/d grid")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--quick", action="store_true",
                        help="d = 30 only, 4 alphas, 2 seeds, no long ReLU run, theory check at d = 60")
    parser.add_argument("--json", help="write the result as JSON")
    parser.add_argument("--plot", help="write the figure (and PATH_graded) (needs matplotlib)")
    parser.add_argument("--replot", metavar="JSON", help="print and plot a stored result instead of running")
    args = parser.parse_args(argv)
    if args.replot:
        result = json.loads(Path(args.replot).read_text())
        report(result)
        if args.plot:
            plot(result, args.plot)
        return result
    dims = [int(d) for d in args.dims.split(",")]
    alphas = [float(a) for a in args.alphas.split(",")]
    seeds = list(range(args.seeds))
    long_dims, long_alphas, long_seeds = [50, 100], LONG_ALPHAS, list(range(5))
    graded_dims, graded_alphas, graded_seeds = dims, GRADED_ALPHAS, list(range(5))
    check = dict(check_d=400, check_alphas=(1.0, 2.0, 3.0, 5.0, 10.0, 20.0), check_seeds=range(4))
    if args.quick:
        dims, alphas, seeds = [30], [0.5, 2.0, 8.0, 20.0], [0, 1]
        long_dims, long_alphas, long_seeds = [], [], []
        graded_dims, graded_alphas, graded_seeds = [30], [2.0, 10.0, 40.0], [0, 1]
        check = dict(check_d=60, check_alphas=(2.0, 10.0), check_seeds=range(2))
    result = run(dims, alphas, seeds, long_dims, long_alphas, long_seeds, graded_dims, graded_alphas, graded_seeds,
                 **check)
    report(result)
    print(f"\nwall time {result['wall_time_s']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.plot:
        plot(result, args.plot)
    return result


if __name__ == "__main__":
    main()
