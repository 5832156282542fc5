"""Ridge readout with an intercept and leave-one-out choice of ``alpha``.

Weighted ridge, ``min_{b, beta} sum_i w_i (y_i - b - x_i beta)^2 + alpha |beta|^2``,
is solved in the rescaled space ``X~ = sqrt(w) (X - x_w)``, ``Y~ = sqrt(w) (Y - y_w)``
(weighted means ``x_w``, ``y_w``). With one eigendecomposition of the smaller
Gram matrix of ``X~`` (``X~ X~^T`` when n <= p, ``X~^T X~`` otherwise) giving
``X~ = U S V^T``, the hat matrix of every candidate is

    H(alpha) = q q^T + U diag(s^2 / (s^2 + alpha)) U^T,   q = sqrt(w) / sqrt(sum w),

so each candidate costs O(n r m) for r = rank, m outputs. The leave-one-out
residual of row i is ``(Y~ - H Y~)_i / (1 - H_ii)``; the candidate with the
smallest mean squared leave-one-out residual wins, as in scikit-learn's
``RidgeCV`` (generalised cross-validation in the rescaled space).
"""

import functools
import math

import numpy as np
from scipy import linalg
from scipy.linalg import blas

from ._features import accumulate_blocks, as_rows, row_slices, rows_per_block
from ._kernels import centre_scale_rows
from ._spectral import serial_blas

DEFAULT_ALPHAS = np.logspace(-6, 6, 25)

# Floor of 1 - H_ii: an interpolating candidate (H_ii -> 1) gets a huge but
# finite leave-one-out error instead of a division by zero.
_LEVERAGE_FLOOR = 1e-12


def fit_ridge_loo(features, Y, sample_weight, alphas, n_threads=1):
    """Fit the weighted ridge readout, choosing ``alpha`` by leave-one-out.

    Parameters
    ----------
    features : ndarray of shape (n, p) or row source (:mod:`._features`)
        With n > p the features are read in passes over row blocks, in their
        own dtype (float32 stays float32); only p x p and n x n_alphas
        statistics are held, in float64. With n <= p they are held whole in
        float64 (at most p^2 numbers).
    Y : ndarray of shape (n, m)
    sample_weight : ndarray of shape (n,), non-negative with a positive sum
    alphas : array-like of shape (n_alphas,), non-negative
    n_threads : int, default=1
        numba thread budget of the centring and row weighting (results do
        not depend on it).

    Returns
    -------
    coef : ndarray of shape (p, m), float64
    intercept : ndarray of shape (m,), float64
    alpha : float
        The selected candidate.
    loo_scores : ndarray of shape (n_alphas,)
        Mean squared leave-one-out residual (rescaled space) of each candidate.
    loo_predictions : ndarray of shape (n, m)
        Leave-one-out predictions at the selected ``alpha``, in the original space.
    """
    features = as_rows(features)
    if features.offset is not None:
        raise ValueError("the readout needs the features themselves, not centred rows")
    Y = np.asarray(Y, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    n, p = features.n_rows, features.width
    total = w.sum()
    (x_mean,) = accumulate_blocks(features, [((p,), np.float64)], _add_weighted_column_sums, w, n_threads=n_threads)
    x_mean /= total
    y_mean = w @ Y / total
    root_w = np.sqrt(w)
    Yt = (Y - y_mean) * root_w[:, None]

    def centred(rows, X):
        # X~ for a block, in one compiled pass (NumPy's two passes cost as much as the Gram product)
        return centre_scale_rows(X, x_mean, root_w[rows], n_threads)

    if n <= p:
        # at most p^2 numbers: gathered whole even from a source of remote chunks
        return _fit_dual(np.asarray(features.take(slice(0, n))), centred, Y, Yt, w, x_mean, y_mean, alphas)

    # Primal path: X~^T X~ = V diag(s^2) V^T, U = X~ V / s, accumulated over blocks;
    # along_q = X~^T sqrt(w), zero but for the rounding of the centring.
    gram, cross, along_q = accumulate_blocks(
        features, [((p, p), np.float64), ((p, Y.shape[1]), np.float64), ((p,), np.float64)],
        functools.partial(_add_centred_products, x_mean=x_mean), Yt, root_w, n_threads=n_threads)
    # The computed X~ carries q (q^T X~), q^T X~ = along_q^T / sqrt(total): the
    # rounding of the subtracted means, one number per column, along the
    # intercept's direction q = sqrt(w / total) (1e-4 of the features' scale for
    # float32 features offset by 1e3). On a
    # (near-)null direction of the features it is all there is, so a direction
    # along q survives the rank floor and the intercept is counted twice. Project
    # it out: X~ <- (I - q q^T) X~, here and in U below.
    gram -= np.outer(along_q, along_q) / total
    with serial_blas():
        s2, V = linalg.eigh(gram, driver="evd", check_finite=False)
    keep = _nonzero(s2, n, p)
    s2, V = s2[keep], V[:, keep]
    s = np.sqrt(s2)
    UtY = (V.T @ cross) / s[:, None]
    V_scaled = (V / s).astype(features.dtype)
    q_offset = (along_q @ V_scaled.astype(np.float64)) / total  # U -= sqrt(w) q_offset^T
    rotate = functools.partial(_rotated_rows, x_mean=x_mean, V_scaled=V_scaled, q_offset=q_offset)
    tolerance = _exact_share_tolerance(features.dtype)
    if getattr(features, "distributed", False):
        return _fit_primal_by_chunks(features, rotate, Y, Yt, w, root_w, x_mean, y_mean, alphas, V, s, s2, UtY,
                                     tolerance, n_threads)

    def blocks_of_U():
        # A block holds its features, their centred copy and U (float64), and
        # the per-candidate denominators and residuals: n_alphas * (m + 2)
        # numbers per row. Block sizes follow working_memory, not the source's.
        row_bytes = 2 * p * features.dtype.itemsize + 16 * p + 8 * alphas.size * (Y.shape[1] + 2)
        block_rows = min(rows_per_block(n, row_bytes), features.block_rows)
        for rows in row_slices(n, block_rows):
            X = features.take(rows)
            yield rows, X, rotate(X, root_w[rows], n_threads)

    scores, denominators, exact_rows, exact_residuals = _loo_scores(
        blocks_of_U(), Yt, w / total, s2, UtY, alphas, n, tolerance)
    scores /= n * Y.shape[1]
    best = int(np.argmin(scores))
    alpha, coef, intercept = _primal_coefficients(alphas, best, V, s, s2, UtY, x_mean, y_mean)
    coef_block = coef.astype(features.dtype)
    fitted = np.empty_like(Y)
    for rows, X in features.blocks():
        fitted[rows] = X @ coef_block
    fitted += intercept
    loo = _loo_predictions(Y, fitted, denominators[:, best], root_w, exact_rows, exact_residuals[:, best])
    return coef, intercept, alpha, scores, loo


def _add_weighted_column_sums(accumulators, rows, X, weights, n_threads):
    accumulators[0] += weights.astype(X.dtype) @ X


def _add_centred_products(accumulators, rows, X, Yt, root_w, n_threads, x_mean):
    # X~ for a block in one compiled pass (NumPy's two passes cost as much as the Gram product)
    Xt = centre_scale_rows(X, x_mean, root_w, n_threads)
    gram, cross, along_q = accumulators
    gram += Xt.T @ Xt
    cross += Xt.T @ Yt.astype(X.dtype)
    along_q += np.einsum("i,ij->j", root_w, Xt, dtype=np.float64)  # buffered cast, no float64 copy


def _rotated_rows(X, root_w, n_threads, x_mean, V_scaled, q_offset):
    """``U = X~ V / s`` of a block, less its part along the intercept's direction."""
    U = (centre_scale_rows(X, x_mean, root_w, n_threads) @ V_scaled).astype(np.float64, copy=False)
    # U -= sqrt(w) q_offset^T as an in-place BLAS rank-one update (on U^T,
    # Fortran-ordered): np.outer would add a block-sized float64 temporary
    if U.size:
        blas.dger(-1.0, q_offset, root_w, a=U.T, overwrite_a=True)
    return U


def _primal_coefficients(alphas, best, V, s, s2, UtY, x_mean, y_mean):
    alpha = float(alphas[best])
    coef = V @ ((s / (s2 + alpha))[:, None] * UtY)
    return alpha, coef, y_mean - x_mean @ coef


def _fit_primal_by_chunks(features, rotate, Y, Yt, w, root_w, x_mean, y_mean, alphas, V, s, s2, UtY, tolerance,
                          n_threads):
    """The primal path's leave-one-out choice on a source of remote chunks (``_distributed.DaskRows``).

    The per-row, per-candidate denominators stay with their chunks: a first
    pass sums the candidates' squared residuals, a second returns the
    leave-one-out predictions at the chosen one (n x m numbers).
    """
    n, m = Y.shape
    base_leverage = w / w.sum()
    (scores,) = accumulate_blocks(
        features, [((alphas.size,), np.float64)],
        functools.partial(_add_loo_squares, rotate=rotate, s2=s2, UtY=UtY, alphas=alphas, tolerance=tolerance),
        Yt, root_w, base_leverage, n_threads=n_threads)
    scores /= n * m
    best = int(np.argmin(scores))
    alpha, coef, intercept = _primal_coefficients(alphas, best, V, s, s2, UtY, x_mean, y_mean)
    loo = features.collect(
        functools.partial(_chunk_loo_predictions, rotate=rotate, s2=s2, UtY=UtY, alpha=alphas[best:best + 1],
                          tolerance=tolerance, coef=coef.astype(features.dtype), intercept=intercept),
        Y, Yt, root_w, base_leverage, n_threads=n_threads)
    return coef, intercept, alpha, scores, loo


def _add_loo_squares(accumulators, rows, X, Yt, root_w, base_leverage, n_threads, rotate, s2, UtY, alphas,
                     tolerance):
    U = rotate(X, root_w, n_threads)
    accumulators[0] += _loo_scores([(slice(0, X.shape[0]), X, U)], Yt, base_leverage, s2, UtY, alphas, X.shape[0],
                                   tolerance)[0]


def _chunk_loo_predictions(rows, X, Y, Yt, root_w, base_leverage, n_threads, rotate, s2, UtY, alpha, tolerance,
                           coef, intercept):
    U = rotate(X, root_w, n_threads)
    _, denominators, exact_rows, exact_residuals = _loo_scores(
        [(slice(0, X.shape[0]), X, U)], Yt, base_leverage, s2, UtY, alpha, X.shape[0], tolerance)
    fitted = (X @ coef).astype(np.float64, copy=False) + intercept
    return _loo_predictions(Y, fitted, denominators[:, 0], root_w, exact_rows, exact_residuals[:, 0])


def _nonzero(s2, n, p):
    # Directions of (numerically) zero variance carry no fit and would make
    # U = X~ V / s ill-defined; drop them relative to the largest.
    return s2 > max(n, p) * np.finfo(np.float64).eps * max(s2.max(initial=0.0), 0.0)


def _eigh_orthogonal_to(gram, q, overwrite=False):
    """Eigenpairs of the centred n x n Gram matrix on the complement of ``q``.

    Centring makes the unit vector ``q = sqrt(w / sum w)`` a null vector of
    ``X~ X~^T``, and the intercept's ``q q^T`` already accounts for it; but a
    float32 Gram matrix puts its eigenvalue at 1e-8 to 1e-6 of the largest,
    where no rank floor tells it from real directions (a floor that high
    drops real ones), and counting it again breaks the leave-one-out shares.
    A Householder reflection ``H = I - beta v v^T`` with ``H q = -+e_1``
    removes it exactly: the eigenvectors ``W`` of ``(H G H)[1:, 1:]`` give
    ``U = H[:, 1:] W``, orthogonal to ``q``. O(n^2) besides the ``eigh``;
    ``overwrite=True`` reflects ``gram`` in place.
    """
    v = q.copy()
    v[0] += math.copysign(1.0, q[0])
    beta = 2.0 / (v @ v)
    Gv = gram @ v
    # H G H = G + v y^T + y v^T with y = -beta G v + (beta^2 v^T G v / 2) v: two
    # in-place rank-one updates (BLAS dger on the Fortran view of the symmetric
    # C-ordered copy), no n x n temporaries (at n = 10^4 each is 800 MB)
    y = -beta * Gv + (0.5 * beta**2 * float(v @ Gv)) * v
    reflected = gram if overwrite and gram.dtype == np.float64 and gram.flags.c_contiguous else (
        np.array(gram, dtype=np.float64, order="C"))
    blas.dger(1.0, v, y, a=reflected.T, overwrite_a=True)
    blas.dger(1.0, y, v, a=reflected.T, overwrite_a=True)
    with serial_blas():
        s2, W = linalg.eigh(reflected[1:, 1:], driver="evd", check_finite=False, overwrite_a=True)
    U = np.vstack([np.zeros((1, W.shape[1])), W])
    U -= beta * np.outer(v, v[1:] @ W)
    return s2, U


def _loo_scores(blocks, Yt, base_leverage, s2, UtY, alphas, n, tolerance):
    """Mean squared leave-one-out residual per candidate, and what the
    leave-one-out predictions at the chosen one need.

    With ``omega = 1 / (s^2 + alpha)``, ``N = U diag(omega) U^T Y~`` and
    ``D_i = sum_j U_ij^2 omega_j``, the residual of row ``i`` is

        (Y~ - H Y~)_i / (1 - H_ii) = (c_i + alpha N_i) / (p_i + alpha D_i),

    where ``p_i = 1 - q_i^2 - sum_j U_ij^2`` and ``c = Y~ - U U^T Y~`` are
    the row's share of (and residual in) the complement of the kept
    directions. Rows that the kept directions fit exactly (``p_i`` at
    rounding level, every row when n <= p at full rank) have ``c_i = 0`` and
    get ``N_i / D_i``: the same value for ``alpha > 0`` without the
    cancellation in ``1 - H_ii``, and the right limit at ``alpha = 0``.
    Computing ``1 - H_ii`` by subtraction there made an interpolating
    candidate's rounding-level residuals look like a perfect fit (bug-cases
    BR-18). Two products per block, (r x n_alphas) and (r x n_alphas m).

    Returns
    -------
    scores : ndarray of shape (n_alphas,)
        Sum of the squared leave-one-out residuals (divide by n m for their mean).
    denominators : ndarray of shape (n, n_alphas)
        ``1 - H_ii`` per candidate.
    exact_rows : ndarray of int
        The rows fit exactly by the kept directions.
    exact_residuals : ndarray of shape (len(exact_rows), n_alphas, m)
        Their leave-one-out residuals (rescaled space).
    """
    m = Yt.shape[1]
    r, n_alphas = s2.size, alphas.size
    omega = 1.0 / (s2[:, None] + alphas[None, :])  # (r, n_alphas)
    omega_UtY = (omega[:, :, None] * UtY[:, None, :]).reshape(r, n_alphas * m)
    scores = np.zeros(n_alphas)
    denominators = np.empty((n, n_alphas))
    exact_rows, exact_residuals = [], []
    for rows, _, U in blocks:
        D = (U * U) @ omega
        share = 1.0 - base_leverage[rows] - np.einsum("ij,ij->i", U, U)
        N = (U @ omega_UtY).reshape(-1, n_alphas, m)
        exact = share <= tolerance
        denominator = share[:, None] + alphas[None, :] * D
        exact_loo = N[exact] / D[exact][:, :, None]
        # (c_i + alpha N_i) / (p_i + alpha D_i), in N's buffer: one n_alphas m array per block
        loo = N
        loo *= alphas[None, :, None]
        loo += (Yt[rows] - U @ UtY)[:, None, :]
        loo /= np.maximum(denominator, _LEVERAGE_FLOOR)[:, :, None]
        if exact.any():
            loo[exact] = exact_loo
            denominator[exact] = alphas[None, :] * D[exact]
            exact_rows.append(rows.start + np.flatnonzero(exact))
            exact_residuals.append(exact_loo)
        denominators[rows] = denominator
        scores += np.einsum("iam,iam->a", loo, loo)
    if exact_rows:
        exact_rows, exact_residuals = np.concatenate(exact_rows), np.concatenate(exact_residuals)
    else:
        exact_rows, exact_residuals = np.zeros(0, dtype=np.intp), np.zeros((0, n_alphas, m))
    return scores, denominators, exact_rows, exact_residuals


def _exact_share_tolerance(dtype):
    # The complement share 1 - q_i^2 - |U_i|^2 is a difference of O(1) terms
    # whose rounding follows the precision U was computed in (the features'
    # dtype); below sqrt(eps) of it a row counts as fit exactly.
    return float(np.sqrt(np.finfo(dtype).eps))


def _loo_predictions(Y, fitted, denominators, root_w, exact_rows, exact_residuals):
    # y_i - yhat_(-i) = (y_i - yhat_i) / (1 - H_ii) holds in the original space
    # too (divide the rescaled identity by sqrt(w_i)); zero-weight rows have
    # H_ii = 0 and keep their full-fit prediction. Rows fit exactly take their
    # rescaled residual (their y_i - yhat_i is rounding only).
    loo = Y - (Y - fitted) / np.maximum(denominators, _LEVERAGE_FLOOR)[:, None]
    loo[exact_rows] = Y[exact_rows] - exact_residuals / root_w[exact_rows, None]
    return loo


def _dual_solution(gram, Yt, w, alphas, rank, dtype):
    """Leave-one-out choice and dual coefficients from the rescaled centred Gram matrix.

    ``gram`` is ``X~ X~^T`` (n x n, float64), for features or a kernel;
    ``rank`` bounds its rank (the feature count, or n for a kernel). ``gram``
    is overwritten.

    Returns
    -------
    dual_coef : ndarray of shape (n, m)
        ``U diag(1 / (s^2 + alpha)) U^T Y~``: the fit is ``X~^T dual_coef``.
    alpha, scores
    denominators, exact_rows, exact_residuals
        What ``_loo_predictions`` needs, at the chosen ``alpha``.
    """
    n = gram.shape[0]
    s2, U = _eigh_orthogonal_to(gram, np.sqrt(w / w.sum()), overwrite=True)
    keep = _nonzero(s2, n, rank)
    s2, U = s2[keep], U[:, keep]
    UtY = U.T @ Yt
    scores, denominators, exact_rows, exact_residuals = _loo_scores(
        [(slice(0, n), None, U)], Yt, w / w.sum(), s2, UtY, alphas, n, _exact_share_tolerance(dtype))
    scores /= n * Yt.shape[1]
    best = int(np.argmin(scores))
    alpha = float(alphas[best])
    dual_coef = U @ (UtY / (s2 + alpha)[:, None])
    return dual_coef, alpha, scores, denominators[:, best], exact_rows, exact_residuals[:, best]


def _fit_dual(X, centred, Y, Yt, w, x_mean, y_mean, alphas):
    """n <= p: eigendecomposition of the n x n Gram matrix X~ X~^T.

    The n x p features ``X`` stay in their dtype (``centred(rows, X)`` gives
    X~); the n x n Gram matrix and its eigenvectors are float64 (no larger
    than the Gram itself).
    """
    n, p = X.shape
    Xt = centred(slice(0, n), X)
    gram = (Xt @ Xt.T).astype(np.float64, copy=False)
    dual_coef, alpha, scores, denominators, exact_rows, exact_residuals = _dual_solution(
        gram, Yt, w, alphas, p, X.dtype)
    coef = (Xt.T @ dual_coef.astype(X.dtype)).astype(np.float64, copy=False)
    intercept = y_mean - x_mean @ coef
    fitted = (X @ coef.astype(X.dtype)).astype(np.float64, copy=False) + intercept
    loo = _loo_predictions(Y, fitted, denominators, np.sqrt(w), exact_rows, exact_residuals)
    return coef, intercept, alpha, scores, loo


def fit_kernel_ridge_loo(kernel, Y, sample_weight, alphas):
    """Weighted kernel ridge with an intercept, ``alpha`` chosen by leave-one-out.

    The exact counterpart of :func:`fit_ridge_loo` for features known only
    through their Gram matrix ``kernel = Phi Phi^T``: with ``u = w / sum w``,
    the weighted-centred kernel is ``K_c = (I - 1 u^T) K (I - u 1^T)`` and the
    rescaled Gram matrix ``X~ X~^T = diag(sqrt w) K_c diag(sqrt w)``. The
    fitted function is ``f(x) = k(x)^T beta + b`` with ``beta = sqrt(w) *
    dual_coef`` (which sums to zero) and ``b = y_w - u^T K beta``.

    Parameters
    ----------
    kernel : ndarray of shape (n, n)
        Symmetric positive semi-definite training kernel.
    Y : ndarray of shape (n, m)
    sample_weight : ndarray of shape (n,), non-negative with a positive sum
    alphas : array-like of shape (n_alphas,), non-negative

    Returns
    -------
    beta : ndarray of shape (n, m), float64
    intercept : ndarray of shape (m,), float64
    alpha : float
    loo_scores : ndarray of shape (n_alphas,)
    loo_predictions : ndarray of shape (n, m)
    """
    Y = np.asarray(Y, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    K = np.asarray(kernel, dtype=np.float64)
    u = w / w.sum()
    y_mean = u @ Y
    root_w = np.sqrt(w)
    Yt = (Y - y_mean) * root_w[:, None]
    Ku = K @ u
    # diag(sqrt w) (K - Ku 1^T - 1 Ku^T + u^T K u) diag(sqrt w), in one n x n copy
    gram = np.array(K, dtype=np.float64, order="C")
    gram -= Ku[:, None]
    gram -= Ku[None, :]
    gram += float(u @ Ku)
    gram *= root_w[:, None]
    gram *= root_w[None, :]
    dual_coef, alpha, scores, denominators, exact_rows, exact_residuals = _dual_solution(
        gram, Yt, w, alphas, K.shape[0], kernel.dtype)
    beta = root_w[:, None] * dual_coef
    intercept = y_mean - Ku @ beta
    fitted = K @ beta + intercept
    loo = _loo_predictions(Y, fitted, denominators, root_w, exact_rows, exact_residuals)
    return beta, intercept, alpha, scores, loo
