"""Synthetic targets with planted low-degree structure.

Every generator draws ``x ~ N(0, I_d)`` and builds the label from a few hidden
quadratic features of ``x``, so a filtered layer has something to find and the
planted structure is returned with the data to measure how well it was found.
The formulas are those of the method digest (``../shared/research``, section
6.3); each docstring states its own.
"""

from numbers import Integral, Real

import numpy as np
from scipy.stats import chi2
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

# Median of chi-squared with one degree of freedom: sign(z^2 - m) is balanced.
CHI2_1_MEDIAN = float(chi2.ppf(0.5, 1))

_SHAPE = {
    "n_samples": [Interval(Integral, 1, None, closed="left")],
    "n_features": [Interval(Integral, 1, None, closed="left")],
    "noise": [Interval(Real, 0, None, closed="left")],
    "random_state": ["random_state"],
}


def _he2(t):
    """Normalised second Hermite polynomial: mean 0, variance 1 under N(0, 1)."""
    return (t**2 - 1.0) / np.sqrt(2.0)


def _orthonormal_rows(rng, n_rows, n_features):
    Q, R = np.linalg.qr(rng.standard_normal((n_features, n_rows)))
    return (Q * np.sign(np.diag(R))).T  # sign fixed: the draw alone decides the directions


@validate_params(
    {**_SHAPE, "target": [StrOptions({"regression", "balanced", "unbalanced"})]},
    prefer_skip_nested_validation=True,
)
def make_quadratic_index(n_samples=1000, n_features=100, *, target="regression", noise=0.0, random_state=None):
    """Labels that depend on one hidden direction through its square.

    With ``x ~ N(0, I_d)``, a uniformly random unit vector ``u`` and
    ``z = <u, x>``:

    - ``target="regression"``: ``y = He2(z) = (z^2 - 1) / sqrt(2)``
      (mean 0, variance 1), plus ``noise`` times standard Gaussian noise;
    - ``target="balanced"``: ``y = sign(z^2 - m)`` with ``m = 0.4549`` the
      median of chi-squared(1), so both classes are equally likely;
    - ``target="unbalanced"``: ``y = sign(z^2 - 1)``: ``P(y = 1) = 0.317``,
      ``E[y] = -0.365``.

    For classification the noise is added to ``z^2`` before the sign. The
    label is independent of every direction orthogonal to ``u``, and
    uncorrelated with every linear function of ``x``: only a method that
    looks at second moments (as a filtered layer does) can find ``u``.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=100
        Dimension ``d`` of ``x``.
    target : {"regression", "balanced", "unbalanced"}, default="regression"
        Kind of label (see above).
    noise : float, default=0.0
        Standard deviation of the Gaussian noise.
    random_state : int, RandomState instance or None, default=None
        Seed of the direction, the rows and the noise.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Standard Gaussian rows.
    y : ndarray of shape (n_samples,)
        float64 targets for regression, int64 labels in ``{-1, 1}`` otherwise.
    direction : ndarray of shape (n_features,)
        The planted unit vector ``u``.

    See Also
    --------
    make_graded_quadratic_indices : Several directions of decreasing strength.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lofi.datasets import make_quadratic_index
    >>> X, y, u = make_quadratic_index(500, 20, target="balanced", random_state=0)
    >>> X.shape, np.unique(y).tolist(), round(float(np.linalg.norm(u)), 6)
    ((500, 20), [-1, 1], 1.0)
    """
    rng = check_random_state(random_state)
    direction = _orthonormal_rows(rng, 1, n_features)[0]
    X = rng.standard_normal((n_samples, n_features))
    z = X @ direction
    eps = noise * rng.standard_normal(n_samples)
    if target == "regression":
        y = _he2(z) + eps
    else:
        threshold = CHI2_1_MEDIAN if target == "balanced" else 1.0
        y = np.where(z**2 + eps > threshold, 1, -1).astype(np.int64)
    return X, y, direction


@validate_params(
    {**_SHAPE, "strengths": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def make_graded_quadratic_indices(n_samples=1000, n_features=100, *, strengths=(1.0, 0.6, 0.3), noise=0.0,
                                  random_state=None):
    """A sum of quadratic indices of graded strengths.

    ``y = sum_k a_k He2(<u_k, x>) + noise * eps`` with ``x ~ N(0, I_d)``,
    orthonormal random directions ``u_k``, ``He2(t) = (t^2 - 1) / sqrt(2)``
    and ``a_k = strengths[k]``. The label-weighted second moment is
    ``E[y x x^T] = sqrt(2) sum_k a_k u_k u_k^T``: direction ``k`` stands out of
    the noise of ``n`` samples once ``a_k`` exceeds a threshold of order
    ``sqrt(d / n)``, so stronger directions are found at smaller ``n``.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=100
        Dimension ``d`` of ``x``.
    strengths : array-like of shape (n_directions,), default=(1.0, 0.6, 0.3)
        Coefficients ``a_k``, one per planted direction (any sign; at most
        ``n_features`` of them).
    noise : float, default=0.0
        Standard deviation of the additive Gaussian noise.
    random_state : int, RandomState instance or None, default=None
        Seed of the directions, the rows and the noise.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Standard Gaussian rows.
    y : ndarray of shape (n_samples,)
        Targets, variance ``sum_k a_k^2 + noise^2``.
    directions : ndarray of shape (n_directions, n_features)
        The orthonormal planted directions, in the order of ``strengths``.

    See Also
    --------
    make_quadratic_index : One direction, with classification variants.

    Examples
    --------
    >>> from sklearn_lofi.datasets import make_graded_quadratic_indices
    >>> X, y, U = make_graded_quadratic_indices(300, 10, strengths=[1.0, 0.5], random_state=0)
    >>> X.shape, y.shape, U.shape
    ((300, 10), (300,), (2, 10))
    """
    strengths = np.asarray(strengths, dtype=np.float64).reshape(-1)
    if strengths.size == 0 or strengths.size > n_features or not np.all(np.isfinite(strengths)):
        raise ValueError(
            f"strengths must hold 1 to n_features={n_features} finite values; got {strengths.size} values."
        )
    rng = check_random_state(random_state)
    directions = _orthonormal_rows(rng, strengths.size, n_features)
    X = rng.standard_normal((n_samples, n_features))
    y = _he2(X @ directions.T) @ strengths + noise * rng.standard_normal(n_samples)
    return X, y, directions


def _quadratic_forms(X, matrices):
    """``(x^T S x - tr S) / (sqrt(2) |S|_F)`` for each symmetric ``S``: mean 0, variance 1."""
    values = np.einsum("ni,kij,nj->nk", X, matrices, X, optimize=True)
    traces = np.trace(matrices, axis1=1, axis2=2)
    norms = np.sqrt(2.0) * np.linalg.norm(matrices, axis=(1, 2))
    return (values - traces) / norms


def _symmetric_gaussian(rng, count, size):
    A = rng.standard_normal((count, size, size))
    return (A + A.transpose(0, 2, 1)) / 2.0


@validate_params(
    {
        **_SHAPE,
        "n_hidden": [Interval(Integral, 1, None, closed="left"), None],
        "target": [StrOptions({"regression", "classification"})],
    },
    prefer_skip_nested_validation=True,
)
def make_quadratic_of_quadratics(n_samples=1000, n_features=20, *, n_hidden=None, target="regression", noise=0.0,
                                 random_state=None):
    """A hierarchical target: a quadratic form of quadratic forms.

    With ``x ~ N(0, I_d)``, ``m = n_hidden`` random symmetric Gaussian
    ``d x d`` matrices ``S_i`` and one random symmetric ``m x m`` matrix
    ``S'``:

    - hidden features ``h_i = (x^T S_i x - tr S_i) / (sqrt(2) |S_i|_F)``,
      each of mean 0 and variance 1;
    - ``t = (h^T S' h - tr S') / (sqrt(2) |S'|_F)``, of mean 0 (its variance is
      near 2 rather than 1, since the ``h_i`` are not Gaussian);
    - ``y = t + noise * eps`` (``"regression"``), or ``y = sign(t + noise * eps)``
      in ``{-1, 1}`` (``"classification"``).

    ``y`` is a polynomial of degree 4 in ``x`` but of degree 2 in the ``m``
    hidden features, which are themselves of degree 2: a first layer can find
    the span of ``h`` from second moments, and a second layer can then build
    ``t`` from it, while a method that does not learn features has to fit a
    general degree-4 polynomial of ``x``.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=20
        Dimension ``d`` of ``x``.
    n_hidden : int, default=None
        Number ``m`` of hidden quadratic features; None takes
        ``ceil(sqrt(n_features))``.
    target : {"regression", "classification"}, default="regression"
        Continuous ``t`` or its sign.
    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to ``t``.
    random_state : int, RandomState instance or None, default=None
        Seed of the matrices, the rows and the noise.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Standard Gaussian rows.
    y : ndarray of shape (n_samples,)
        float64 targets, or int64 labels in ``{-1, 1}``.
    inner : ndarray of shape (n_hidden, n_features, n_features)
        The matrices ``S_i`` of the hidden features.
    outer : ndarray of shape (n_hidden, n_hidden)
        The matrix ``S'`` that combines them.

    See Also
    --------
    hidden_features : The hidden features ``h`` of new rows.

    Examples
    --------
    >>> from sklearn_lofi.datasets import make_quadratic_of_quadratics
    >>> X, y, inner, outer = make_quadratic_of_quadratics(200, 9, random_state=0)
    >>> X.shape, inner.shape, outer.shape
    ((200, 9), (3, 9, 9), (3, 3))
    """
    m = int(np.ceil(np.sqrt(n_features))) if n_hidden is None else n_hidden
    rng = check_random_state(random_state)
    inner = _symmetric_gaussian(rng, m, n_features)
    outer = _symmetric_gaussian(rng, 1, m)[0]
    X = rng.standard_normal((n_samples, n_features))
    t = _quadratic_forms(hidden_features(X, inner), outer[None])[:, 0] + noise * rng.standard_normal(n_samples)
    y = t if target == "regression" else np.where(t > 0, 1, -1).astype(np.int64)
    return X, y, inner, outer


def hidden_features(X, inner):
    """Hidden features ``h`` of :func:`make_quadratic_of_quadratics` for rows ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Rows.
    inner : ndarray of shape (n_hidden, n_features, n_features)
        The matrices returned by :func:`make_quadratic_of_quadratics`.

    Returns
    -------
    h : ndarray of shape (n_samples, n_hidden)
        ``(x^T S_i x - tr S_i) / (sqrt(2) |S_i|_F)``.

    Examples
    --------
    >>> from sklearn_lofi.datasets import hidden_features, make_quadratic_of_quadratics
    >>> X, y, inner, outer = make_quadratic_of_quadratics(5000, 9, random_state=0)
    >>> h = hidden_features(X, inner)
    >>> h.shape, bool(abs(h.var(axis=0) - 1).max() < 0.1)
    ((5000, 3), True)
    """
    X = np.asarray(X, dtype=np.float64)
    inner = np.asarray(inner, dtype=np.float64)
    if X.ndim != 2 or inner.ndim != 3 or inner.shape[1:] != (X.shape[1], X.shape[1]):
        raise ValueError(
            f"X must be 2-D and inner of shape (n_hidden, {X.shape[-1]}, {X.shape[-1]}); "
            f"got X {X.shape} and inner {inner.shape}."
        )
    return _quadratic_forms(X, inner)
