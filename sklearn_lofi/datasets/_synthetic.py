"""Synthetic targets with planted low-degree structure.

Every generator draws ``x ~ N(0, I_d)`` and builds the label from a few hidden
quadratic features of ``x``, so a filtered layer has something to find and the
planted structure is returned with the data to measure how well it was found.
They serve to check the claims of Dandi, Vilucchio, Arnaboldi, Tabanelli and
Krzakala, "Deep Learning as Neural Low-Degree Filtering: A Spectral Theory of
Hierarchical Feature Learning" (arXiv:2605.13612, 2026) on the emergence of
planted directions and on hierarchical features. Each docstring states the
full formula of its target.
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


def _float_array(value, name, ndim, shape_text):
    """``value`` as a finite float64 array of ``ndim`` dimensions, none of them empty, or a ValueError."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers of shape {shape_text}; it cannot be converted to "
                         f"floats: {exc}") from exc
    if array.ndim != ndim:
        raise ValueError(f"{name} must be an array of shape {shape_text} ({ndim}-D); got {array.ndim}-D with "
                         f"shape {array.shape}.")
    if 0 in array.shape:
        raise ValueError(f"{name} must not be empty; got shape {array.shape}, expected {shape_text}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite values; it holds {int(np.sum(~np.isfinite(array)))} NaN or "
                         "infinite value(s).")
    return array


def _matrices(indices):
    """``"inner[2] is"`` or ``"inner[0], inner[3] are"``: the subject of an error about some matrices."""
    return ", ".join(f"inner[{i}]" for i in indices) + (" is" if len(indices) == 1 else " are")


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
        Coefficients ``a_k``, one per planted direction: a 1-D sequence of 1
        to ``n_features`` finite numbers of any sign.
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

    Raises
    ------
    ValueError
        When ``strengths`` is not 1-D, is empty, holds a non-finite value or
        something that is not a number, or has more than ``n_features``
        values.

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
    strengths = _float_array(strengths, "strengths", 1, "(n_directions,)")
    if strengths.size > n_features:
        raise ValueError(f"strengths must hold at most n_features={n_features} values (one per orthonormal "
                         f"direction in dimension {n_features}); got {strengths.size}.")
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
    t = _quadratic_forms(_quadratic_forms(X, inner), outer[None])[:, 0] + noise * rng.standard_normal(n_samples)
    y = t if target == "regression" else np.where(t > 0, 1, -1).astype(np.int64)
    return X, y, inner, outer


@validate_params({"X": ["array-like"], "inner": ["array-like"]}, prefer_skip_nested_validation=True)
def hidden_features(X, inner):
    """Hidden features ``h`` of :func:`make_quadratic_of_quadratics` for rows ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Rows (finite numbers).
    inner : array-like of shape (n_hidden, n_features, n_features)
        The matrices returned by :func:`make_quadratic_of_quadratics`: any
        finite, symmetric, nonzero matrices ``S_i`` of the width of ``X``.

    Returns
    -------
    h : ndarray of shape (n_samples, n_hidden)
        ``(x^T S_i x - tr S_i) / (sqrt(2) |S_i|_F)``.

    Raises
    ------
    ValueError
        When ``X`` is not 2-D, ``inner`` not 3-D, either is empty or holds a
        non-finite value, the matrices are not square of side
        ``n_features`` (the number of columns of ``X``), or one of them is
        zero or not symmetric (the formula divides by ``|S_i|_F`` and has
        variance 1 only for symmetric ``S_i``).

    Examples
    --------
    >>> from sklearn_lofi.datasets import hidden_features, make_quadratic_of_quadratics
    >>> X, y, inner, outer = make_quadratic_of_quadratics(5000, 9, random_state=0)
    >>> h = hidden_features(X, inner)
    >>> h.shape, bool(abs(h.var(axis=0) - 1).max() < 0.1)
    ((5000, 3), True)
    """
    X = _float_array(X, "X", 2, "(n_samples, n_features)")
    inner = _float_array(inner, "inner", 3, "(n_hidden, n_features, n_features)")
    d = X.shape[1]
    if inner.shape[1:] != (d, d):
        raise ValueError(f"inner must have shape (n_hidden, {d}, {d}) to match the {d} columns of X; got "
                         f"{inner.shape}.")
    norms = np.linalg.norm(inner, axis=(1, 2))
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValueError(f"{_matrices(zero)} zero: each hidden feature is divided by the Frobenius norm of its "
                         "matrix S_i, which must be nonzero.")
    asymmetric = np.flatnonzero(np.abs(inner - inner.transpose(0, 2, 1)).max(axis=(1, 2)) > 1e-8 * norms)
    if asymmetric.size:
        raise ValueError(f"{_matrices(asymmetric)} not symmetric: the hidden features are defined for symmetric "
                         "matrices S_i (symmetrise a matrix A as (A + A.T) / 2).")
    return _quadratic_forms(X, inner)
