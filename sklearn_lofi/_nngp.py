"""NNGP kernels: the infinite-width limit of a lift's Gram matrix.

A lift ``Z = sigma(H W / c) / sqrt(P)`` with i.i.d. N(0, 1) weights has Gram
matrix ``(Z Z^T)_ab = mean_p sigma(u_p) sigma(v_p)``, where the pre-activation
pairs ``(u, v)`` are Gaussian with covariance ``[[q_aa, q_ab], [q_ab, q_bb]]``,
``q = H H^T / c^2``. As ``P -> infinity`` it converges, at rate ``1/sqrt(P)``,
to the dual activation

    kappa(q_ab, q_aa, q_bb) = E[sigma(u) sigma(v)].

Closed forms: ReLU (the arc-cosine kernel of order 1, Cho and Saul),

    kappa = sqrt(q_aa q_bb) / (2 pi) (sin t + (pi - t) cos t),  cos t = q_ab / sqrt(q_aa q_bb),

erf, ``kappa = (2 / pi) arcsin(2 q_ab / sqrt((1 + 2 q_aa)(1 + 2 q_bb)))``, and
the identity, ``kappa = q_ab``. Any other activation goes through its Hermite
expansion at each row's variance (Mehler's formula): with
``a_k(q) = E[sigma(sqrt(q) g) h_k(g)]``, ``g ~ N(0, 1)``, ``h_k`` the normalised
Hermite polynomials and ``rho = q_ab / sqrt(q_aa q_bb)``,

    kappa = sum_k a_k(q_aa) a_k(q_bb) rho^k.

The coefficients are those of the activation the finite lift applies: the
full ``sigma``, or for ``degree=d`` its Hermite truncation evaluated at
pre-activations clipped to ``[-4, 4]`` (``_kernels.HERMITE_CLIP``). Without
the clip the truncated series would terminate at ``k = d``, but it would not
be the limit of the finite lift: rows of large variance (up to 18 times the
mean on standardised digits) put mass beyond the clip, and the unclipped
kernel missed the finite Gram matrices by 35-99 % there. Each row's
coefficients are integrated exactly in pieces: Gauss-Legendre quadrature on
the unclipped interval (a smooth integrand), closed forms for the constant
tails. The series is summed to degree ``SERIES_MAX_DEGREE``, dropping degrees
that no row needs; training diagonals (``rho = 1``, where it converges
slowest) take the exact second moments instead. ``series_tail`` gives the
error bound at ``rho = +-1`` (below 2e-3 on standardised breast cancer and
digits; off the diagonal the terms also carry ``rho^k``).

The element-wise map runs in a numba kernel (serial and parallel from one
source, as in ``_kernels``) with a NumPy twin that the tests compare with.
"""

import math

import numba
import numpy as np
from scipy import special

from ._activations import activation_function, hermite_coefficients, hermite_series
from ._kernels import HERMITE_CLIP, _compile, _pick

# Degrees summed. Relative tail of sum_k a_k^2 beyond it (``series_tail``), at
# normalised variance 1 / 4 / 25: tanh 0 / 2e-11 / 1.7e-5, sigmoid 2e-14 /
# 1e-14 / 8e-10; ReLU truncated at degree 2 and clipped (variance 1 / 4 / 12):
# 4e-8 / 1.2e-5 / 6e-5. At degree 128 tanh left 5e-4 at variance 25.
SERIES_MAX_DEGREE = 256
# Gauss-Legendre nodes on the unclipped interval of a truncated activation, and
# where the Gaussian is treated as zero (phi(12) = 2e-32).
_LEGENDRE_NODES = 400
_GAUSSIAN_EDGE = 12.0
# Degrees whose coefficients are below this fraction of the largest, for every row, are dropped.
_NEGLIGIBLE = 1e-17

_CODES = {"relu": 1, "erf": 2}
_SERIES = 3


def _entries(Q, row_variances, col_variances, code, row_coefs, col_coefs):
    # In place: Q[i, j] <- kappa(Q[i, j], row_variances[i], col_variances[j]).
    n_rows, n_cols = Q.shape
    n_terms = row_coefs.shape[1]
    for i in numba.prange(n_rows):
        a = row_variances[i]
        for j in range(n_cols):
            b = col_variances[j]
            q = Q[i, j]
            scale = math.sqrt(a * b)
            if code == 1:  # relu
                if scale <= 0.0:
                    Q[i, j] = 0.0
                    continue
                cosine = min(max(q / scale, -1.0), 1.0)
                angle = math.acos(cosine)
                Q[i, j] = scale * (math.sqrt(1.0 - cosine * cosine) + (math.pi - angle) * cosine) / (2.0 * math.pi)
            elif code == 2:  # erf
                ratio = 2.0 * q / math.sqrt((1.0 + 2.0 * a) * (1.0 + 2.0 * b))
                Q[i, j] = 2.0 / math.pi * math.asin(min(max(ratio, -1.0), 1.0))
            else:  # Mehler series, Horner in rho
                rho = min(max(q / scale, -1.0), 1.0) if scale > 0.0 else 0.0
                total = 0.0
                for k in range(n_terms - 1, -1, -1):
                    total = total * rho + row_coefs[i, k] * col_coefs[j, k]
                Q[i, j] = total


_entries_kernels = _compile(_entries)


def _series_needed(activation, degree):
    return degree is not None or activation not in ("relu", "erf", "identity")


def dual_coefficients(activation, degree, variances):
    """Hermite coefficients ``a_k(q) = E[f(sqrt(q) g) h_k(g)]`` per variance.

    ``f`` is the activation the finite lift applies: the full ``sigma``
    (``degree=None``) or its Hermite truncation at pre-activations clipped to
    ``[-HERMITE_CLIP, HERMITE_CLIP]``.

    Parameters
    ----------
    activation : str
    degree : int or None
    variances : ndarray of shape (n,)

    Returns
    -------
    coefficients : ndarray of shape (n, SERIES_MAX_DEGREE + 1), float64
    second_moment : ndarray of shape (n,)
        ``E[f(sqrt(q) g)^2]``, the kernel's exact diagonal; minus
        ``sum_k a_k^2`` it bounds the truncated series' error.
    """
    variances = np.clip(np.asarray(variances, dtype=np.float64), 0.0, None)
    n_terms = SERIES_MAX_DEGREE + 1
    roots = np.sqrt(variances)
    if degree is None:
        function = activation_function(activation)
        inside = np.full(variances.shape, _GAUSSIAN_EDGE)
    else:
        # The clipped polynomial is a polynomial of g on [-L, L], L = clip / sqrt(q),
        # and the constants p(+-clip) beyond.
        coefs = hermite_coefficients(activation, degree)

        def function(t):
            return hermite_series(t, coefs)

        inside = np.minimum(HERMITE_CLIP / np.maximum(roots, 1e-300), _GAUSSIAN_EDGE)
    # The middle goes to Gauss-Legendre quadrature (the integrand is smooth
    # there but for a kink at 0), the tails to the closed form
    # int_L^inf h_k(g) phi(g) dg = h_(k-1)(L) phi(L) / sqrt(k) (Phi(-L) for k = 0).
    # Split at 0 as well, where ReLU-like activations have their kink.
    nodes, weights = np.polynomial.legendre.leggauss(_LEGENDRE_NODES // 2)
    nodes, weights = np.concatenate([(nodes - 1) / 2, (nodes + 1) / 2]), np.concatenate([weights, weights]) / 2
    g = inside[:, None] * nodes[None, :]  # (n, nodes)
    root_density = np.exp(-0.25 * g * g) / (2.0 * math.pi) ** 0.25
    values = function(roots[:, None] * g)
    weighted = values * (weights[None, :] * inside[:, None]) * root_density
    # h_k(g) sqrt(phi(g)), one degree at a time (all at once would take n_terms * n * nodes numbers)
    coefficients = np.column_stack([np.einsum("in,in->i", weighted, psi)
                                    for psi in _hermite_functions(g, root_density, n_terms)])
    second_moment = np.einsum("in,in->i", values * weighted, root_density)
    active = inside < _GAUSSIAN_EDGE
    if active.any():
        upper, lower = function(HERMITE_CLIP), function(-HERMITE_CLIP)
        edge = inside[active]
        tail_mass = special.ndtr(-edge)
        at_edge = np.array(list(_hermite_functions(edge, np.exp(-0.5 * edge**2) / math.sqrt(2 * math.pi),
                                                   n_terms - 1)))
        k = np.arange(1, n_terms)
        tails = at_edge.T / np.sqrt(k)[None, :]  # int_L^inf h_k phi, k >= 1
        coefficients[active, 1:] += (upper + lower * (-1.0) ** k)[None, :] * tails
        coefficients[active, 0] += (upper + lower) * tail_mass
        second_moment[active] += (upper * upper + lower * lower) * tail_mass
    return coefficients, second_moment


def _hermite_functions(x, start, n_terms):
    """Yield ``h_k(x) * start`` for k < n_terms (normalised three-term recurrence).

    With ``start = sqrt(w)`` or ``phi(x)`` the products stay O(1) where
    ``h_k`` alone overflows and the weight alone underflows.
    """
    previous, current = None, np.broadcast_to(start, np.shape(x)).astype(np.float64)
    for k in range(n_terms):
        yield current
        following = x * current if k == 0 else (x * current - math.sqrt(k) * previous) / math.sqrt(k + 1)
        previous, current = current, following


def series_terms(activation, degree, variances):
    """What the Mehler series needs of a set of rows, or None for a closed-form kernel.

    Returns the coefficients (float64, trailing degrees that no row needs
    dropped) and the exact diagonal. Computing them costs about 10^5 flops
    per row, so the fit computes the training rows' once and prediction
    reuses them (``row_series`` / ``col_series`` of :func:`nngp_kernel_`).
    """
    if not _series_needed(activation, degree):
        return None
    return _series_coefficients(activation, degree, variances)


def _series_coefficients(activation, degree, variances):
    """Coefficients in float64, trailing degrees that no row needs dropped, and the exact diagonal."""
    coefficients, second_moment = dual_coefficients(activation, degree, variances)
    magnitude = np.max(np.abs(coefficients), axis=0, initial=0.0)
    needed = np.flatnonzero(magnitude > _NEGLIGIBLE * max(float(magnitude.max(initial=0.0)), 1e-300))
    n_terms = int(needed[-1]) + 1 if needed.size else 1
    return coefficients[:, :n_terms], second_moment


def series_tail(activation, degree, variances):
    """Relative error bound of the truncated series at ``rho = +-1``, per variance."""
    coefficients, second_moment = dual_coefficients(activation, degree, variances)
    tail = second_moment - np.einsum("ik,ik->i", coefficients, coefficients)
    return np.clip(tail, 0.0, None) / np.maximum(second_moment, 1e-300)


def nngp_kernel_(Q, row_variances, col_variances, activation, degree, n_threads=1, *, symmetric=False,
                 row_series=None, col_series=None):
    """Overwrite ``Q`` (normalised inner products, C-contiguous) with the NNGP kernel.

    Parameters
    ----------
    Q : ndarray of shape (n, m), float32 or float64
        ``q_ab = <h_a, h_b> / c^2``.
    row_variances, col_variances : ndarray of shape (n,) and (m,)
        ``q_aa`` of the rows and ``q_bb`` of the columns.
    activation : str
    degree : int or None
    n_threads : int
        numba threads (results do not depend on it).
    symmetric : bool, default=False
        ``Q`` is a training Gram matrix (rows and columns the same points):
        its diagonal gets the exact second moments (the series converges
        slowest at ``rho = 1``) and the result is symmetrised.
    row_series, col_series : tuple or None
        :func:`series_terms` of the rows and columns, when already known.

    Returns
    -------
    Q : ndarray
        The same array.
    """
    if activation == "identity" and degree is None:
        return Q
    dtype = Q.dtype
    rows = np.ascontiguousarray(row_variances, dtype=dtype)
    cols = np.ascontiguousarray(col_variances, dtype=dtype)
    if _series_needed(activation, degree):
        code = _SERIES
        row_coefs, row_moments = row_series or _series_coefficients(activation, degree, row_variances)
        if symmetric:
            col_coefs = row_coefs
        else:
            col_coefs = (col_series or _series_coefficients(activation, degree, col_variances))[0]
        n_terms = min(row_coefs.shape[1], col_coefs.shape[1])
        row_coefs = np.ascontiguousarray(row_coefs[:, :n_terms], dtype=dtype)
        col_coefs = np.ascontiguousarray(col_coefs[:, :n_terms], dtype=dtype)
    else:
        code = _CODES[activation]
        row_coefs = col_coefs = np.zeros((1, 1), dtype=dtype)
    _pick(_entries_kernels, n_threads)(Q, rows, cols, code, row_coefs, col_coefs)
    if symmetric:
        if code == _SERIES:
            np.fill_diagonal(Q, row_moments.astype(dtype))
        Q += Q.T
        Q *= 0.5
    return Q


def nngp_diagonal(variances, activation, degree, series=None):
    """``kappa(q, q, q)``: the kernel's diagonal from the rows' variances (``series``: their
    :func:`series_terms`, when already known)."""
    variances = np.asarray(variances)
    if activation == "identity" and degree is None:
        return variances.copy()
    if _series_needed(activation, degree):
        moments = (series or _series_coefficients(activation, degree, variances))[1]
        return moments.astype(variances.dtype)
    if activation == "relu":
        return 0.5 * variances
    return (2.0 / np.pi * np.arcsin(2.0 * variances / (1.0 + 2.0 * variances))).astype(variances.dtype)


def nngp_kernel_numpy(Q, row_variances, col_variances, activation, degree):
    """NumPy twin of :func:`nngp_kernel_` (returns a new float64 array)."""
    Q = np.asarray(Q, dtype=np.float64)
    a = np.asarray(row_variances, dtype=np.float64)[:, None]
    b = np.asarray(col_variances, dtype=np.float64)[None, :]
    scale = np.sqrt(a * b)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = np.where(scale > 0, np.clip(Q / scale, -1.0, 1.0), 0.0)
    if activation == "identity" and degree is None:
        return Q.copy()
    if not _series_needed(activation, degree):
        if activation == "relu":
            angle = np.arccos(cosine)
            return scale * (np.sin(angle) + (np.pi - angle) * cosine) / (2 * np.pi)
        return 2 / np.pi * np.arcsin(np.clip(2 * Q / np.sqrt((1 + 2 * a) * (1 + 2 * b)), -1.0, 1.0))
    row_coefs, _ = _series_coefficients(activation, degree, row_variances)
    col_coefs, _ = _series_coefficients(activation, degree, col_variances)
    n_terms = min(row_coefs.shape[1], col_coefs.shape[1])
    powers = cosine[:, :, None] ** np.arange(n_terms)
    return np.einsum("ik,jk,ijk->ij", row_coefs[:, :n_terms], col_coefs[:, :n_terms], powers)
