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

import numpy as np
from scipy import linalg

DEFAULT_ALPHAS = np.logspace(-6, 6, 25)

# Floor of 1 - H_ii: an interpolating candidate (H_ii -> 1) gets a huge but
# finite leave-one-out error instead of a division by zero.
_LEVERAGE_FLOOR = 1e-12


def fit_ridge_loo(X, Y, sample_weight, alphas):
    """Fit the weighted ridge readout, choosing ``alpha`` by leave-one-out.

    Parameters
    ----------
    X : ndarray of shape (n, p)
    Y : ndarray of shape (n, m)
    sample_weight : ndarray of shape (n,), non-negative with a positive sum
    alphas : array-like of shape (n_alphas,), non-negative

    Returns
    -------
    coef : ndarray of shape (p, m)
    intercept : ndarray of shape (m,)
    alpha : float
        The selected candidate.
    loo_scores : ndarray of shape (n_alphas,)
        Mean squared leave-one-out residual (rescaled space) of each candidate.
    loo_predictions : ndarray of shape (n, m)
        Leave-one-out predictions at the selected ``alpha``, in the original space.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    n, p = X.shape
    total = w.sum()
    x_mean = w @ X / total
    y_mean = w @ Y / total
    root_w = np.sqrt(w)[:, None]
    Xt = (X - x_mean) * root_w
    Yt = (Y - y_mean) * root_w

    if n <= p:
        s2, U = linalg.eigh(Xt @ Xt.T, driver="evd", check_finite=False)
        V = None
    else:
        s2, V = linalg.eigh(Xt.T @ Xt, driver="evd", check_finite=False)
    # Directions of (numerically) zero variance carry no fit and would make
    # U = X~ V / s ill-defined; drop them relative to the largest.
    keep = s2 > max(n, p) * np.finfo(np.float64).eps * max(s2.max(initial=0.0), 0.0)
    s2 = s2[keep]
    if V is None:
        U = U[:, keep]
    else:
        V = V[:, keep]
        U = Xt @ V / np.sqrt(s2)

    UtY = U.T @ Yt
    U_squared = U * U
    base_leverage = w / total
    scores = np.empty(alphas.size)
    for index, alpha in enumerate(alphas):
        shrink = s2 / (s2 + alpha)
        leverage = base_leverage + U_squared @ shrink
        residual = Yt - U @ (shrink[:, None] * UtY)
        loo = residual / np.maximum(1.0 - leverage, _LEVERAGE_FLOOR)[:, None]
        scores[index] = np.mean(loo * loo)
    best = int(np.argmin(scores))
    alpha = float(alphas[best])

    if V is None:
        coef = Xt.T @ (U @ (UtY / (s2 + alpha)[:, None]))
    else:
        coef = V @ ((np.sqrt(s2) / (s2 + alpha))[:, None] * UtY)
    intercept = y_mean - x_mean @ coef

    shrink = s2 / (s2 + alpha)
    leverage = base_leverage + U_squared @ shrink
    fitted = X @ coef + intercept
    # y_i - yhat_(-i) = (y_i - yhat_i) / (1 - H_ii) holds in the original space
    # too (divide the rescaled identity by sqrt(w_i)); zero-weight rows have
    # H_ii = 0 and keep their full-fit prediction.
    loo_predictions = Y - (Y - fitted) / np.maximum(1.0 - leverage, _LEVERAGE_FLOOR)[:, None]
    return coef, intercept, alpha, scores, loo_predictions
