"""Leave-one-out ridge readout against scikit-learn's RidgeCV and brute force."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge, RidgeCV

from sklearn_lofi._ridge import fit_ridge_loo

ALPHAS = np.logspace(-4, 3, 15)


def _data(n, p, m=1, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, p)) + 0.5
    Y = X @ rng.standard_normal((p, m)) + 2.0 + 0.5 * rng.standard_normal((n, m))
    return X, Y


@pytest.mark.parametrize("n, p", [(60, 15), (20, 50)])
@pytest.mark.parametrize("m", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_ridgecv(n, p, m, weighted):
    X, Y = _data(n, p, m)
    w = np.random.RandomState(1).uniform(0.1, 4.0, n) if weighted else np.ones(n)
    coef, intercept, alpha, _, _ = fit_ridge_loo(X, Y, w, ALPHAS)
    reference = RidgeCV(alphas=ALPHAS).fit(X, Y if m > 1 else Y.ravel(), sample_weight=w)
    assert alpha == pytest.approx(reference.alpha_)
    np.testing.assert_allclose(coef.T.reshape(reference.coef_.shape), reference.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(intercept.reshape(np.shape(reference.intercept_)), reference.intercept_, rtol=1e-8)


def test_loo_predictions_and_scores_match_brute_force():
    X, Y = _data(25, 6)
    w = np.random.RandomState(2).uniform(0.5, 2.0, 25)
    alphas = [0.01, 1.0, 30.0]
    _, _, alpha, scores, loo = fit_ridge_loo(X, Y, w, alphas)
    for k, a in enumerate(alphas):
        residuals = []
        for i in range(25):
            keep = np.arange(25) != i
            model = Ridge(alpha=a).fit(X[keep], Y[keep], sample_weight=w[keep])
            prediction = model.predict(X[i : i + 1])
            residuals.append(np.sqrt(w[i]) * (Y[i] - prediction[0]))
            if a == alpha:
                np.testing.assert_allclose(loo[i], prediction[0], rtol=1e-8)
        np.testing.assert_allclose(scores[k], np.mean(np.square(residuals)), rtol=1e-8)


def _brute_force_loo(X, y, w, alphas):
    """Leave-one-out predictions (n_alphas x n) of weighted ridge with an
    intercept, each fit from the SVD of the other rows (alpha = 0: the
    minimum-norm fit, the alpha -> 0 limit)."""
    n = X.shape[0]
    predictions = np.empty((len(alphas), n))
    for i in range(n):
        keep = np.arange(n) != i
        wk = w[keep] / w[keep].sum()
        x_mean, y_mean = wk @ X[keep], wk @ y[keep]
        root = np.sqrt(w[keep])[:, None]
        U, s, Vt = np.linalg.svd(root * (X[keep] - x_mean), full_matrices=False)
        kept = s > 1e-10 * s[0]
        U, s, Vt = U[:, kept], s[kept], Vt[kept]
        Uty = U.T @ (root[:, 0] * (y[keep] - y_mean))
        for k, alpha in enumerate(alphas):
            predictions[k, i] = (X[i] - x_mean) @ (Vt.T @ ((s / (s**2 + alpha)) * Uty)) + y_mean
    return predictions


@pytest.mark.parametrize("n, p", [(30, 80), (40, 39)])
@pytest.mark.parametrize("weighted", [False, True])
# float32: the Gram's smallest eigenvalues, which set the alpha -> 0 scores, carry
# float32 rounding (1 % at n = 40, p = 39); the fault this guards against was 100 %.
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-6), (np.float32, 5e-2)])
def test_interpolating_candidates_get_their_true_leave_one_out_score(n, p, weighted, dtype, rtol):
    # bug-cases BR-18: with n <= p + 1 the kept directions fit every row, so
    # 1 - H_ii -> 0 as alpha -> 0; computed as a difference it was rounding,
    # and alpha = 0 or 1e-15 won with a leave-one-out error far below the
    # noise. Scores and predictions are checked against brute force here,
    # and the choice against RidgeCV (which needs alpha > 0).
    # (float32: ReLU-like features, all positive, as the head hands out)
    rng = np.random.RandomState(3)
    X = np.maximum(rng.standard_normal((n, p)), 0.0).astype(dtype)
    y = X[:, 0] + 0.5 * rng.standard_normal(n)
    w = rng.uniform(0.5, 2.0, n) if weighted else np.ones(n)
    alphas = np.array([0.0, 1e-15, 1e-10, 1e-2, 1.0, 10.0, 100.0])
    _, _, alpha, scores, loo = fit_ridge_loo(X, y[:, None], w, alphas)
    brute_all = _brute_force_loo(X.astype(np.float64), y, w, alphas)
    for k, a in enumerate(alphas):
        brute = brute_all[k]
        np.testing.assert_allclose(scores[k], np.mean(w * (y - brute) ** 2), rtol=rtol)
        if a == alpha:
            np.testing.assert_allclose(loo[:, 0], brute, rtol=rtol, atol=1e-8 if dtype == np.float64 else 1e-3)
    assert alpha > 1e-10
    reference = RidgeCV(alphas=alphas[1:]).fit(X, y, sample_weight=w)
    assert alpha == pytest.approx(reference.alpha_)


def _relu_features(X, width, seed=0):
    W = np.random.RandomState(seed).standard_normal((X.shape[1], width)) / np.sqrt(X.shape[1])
    return np.maximum(X @ W, 0.0)


def test_float32_gram_with_uneven_weights_scores_like_float64():
    # n < p, float32: the centring's null direction of the n x n Gram matrix
    # comes out at 1e-8..1e-6 of the top eigenvalue. Counted as a direction it
    # broke the leave-one-out shares; a float32 rank floor high enough to drop
    # it dropped real directions of low-weight rows instead (small-alpha
    # scores 10-180x too high). Found by a fresh-user trial.
    from sklearn.datasets import make_regression

    X, y = make_regression(150, 8, noise=1.0, random_state=4)
    w = np.random.RandomState(4).uniform(0.1, 5.0, 150)
    features = _relu_features(X, 512)
    alphas = np.array([0.0, 1e-10, 1e-4, 1e-3, 1e-2, 1.0])
    predictions = _brute_force_loo(features.astype(np.float32).astype(np.float64), y, w, alphas)
    brute = np.mean(w * (y - predictions) ** 2, axis=1)
    _, _, alpha32, scores32, _ = fit_ridge_loo(features.astype(np.float32), y[:, None], w, alphas)
    np.testing.assert_allclose(scores32, brute, rtol=1e-3)
    assert alpha32 == alphas[int(np.argmin(brute))]


def test_float32_multi_output_scores_match_ridgecv():
    from sklearn.datasets import load_digits

    X, labels = load_digits(return_X_y=True)
    X = (X[:600] - X[:600].mean(axis=0)) / (X[:600].std(axis=0) + 1.0)
    features = _relu_features(X, 1024).astype(np.float32)
    Y = 2.0 * (labels[:600, None] == np.arange(10)) - 1.0
    alphas = np.logspace(-6, 0, 13)
    _, _, alpha, scores, _ = fit_ridge_loo(features, Y, np.ones(600), alphas)
    reference = RidgeCV(alphas=alphas, store_cv_results=True).fit(features.astype(np.float64), Y)
    np.testing.assert_allclose(scores, reference.cv_results_.mean(axis=(0, 1)), rtol=1e-3)
    assert alpha == pytest.approx(reference.alpha_)


def test_float32_offset_features_with_null_directions_pick_the_right_alpha():
    # n > p, float32 features offset by 1e3, a quarter of the rows at weight 0
    # (fewer weighted rows than p + 1: the Gram matrix has null directions).
    # The float32 centring leaves (mean rounding) along q in every column; on
    # a null direction that is all there is, so the rank floor kept a
    # direction along q, counted next to the intercept: scores off at every
    # alpha, 1e-4 chosen where leave-one-out says 100. Found by a stress run.
    rng = np.random.RandomState(0)
    n, p = 100, 97
    X = (rng.standard_normal((n, p)) + 1e3).astype(np.float32)
    y = (X[:, :10].astype(np.float64) - 1e3) @ rng.standard_normal(10) + rng.standard_normal(n)
    w = rng.uniform(0.01, 10.0, n)
    w[:25] = 0.0
    alphas = np.logspace(-6, 6, 13)
    _, _, alpha, scores, _ = fit_ridge_loo(X, y[:, None], w, alphas)
    brute = np.mean(w * (y - _brute_force_loo(X.astype(np.float64), y, w, alphas)) ** 2, axis=1)
    assert alpha == alphas[int(np.argmin(brute))]
    resolved = alphas >= 1.0  # float32 resolves the spectrum down to ~1e-7 of its top
    np.testing.assert_allclose(scores[resolved], brute[resolved], rtol=1e-3)


def test_zero_weight_rows_are_ignored():
    X, Y = _data(40, 8)
    w = np.ones(40)
    w[:10] = 0.0
    coef, intercept, alpha, _, _ = fit_ridge_loo(X, Y, w, ALPHAS)
    coef2, intercept2, alpha2, _, _ = fit_ridge_loo(X[10:], Y[10:], w[10:], ALPHAS)
    assert alpha == alpha2
    np.testing.assert_allclose(coef, coef2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(intercept, intercept2, rtol=1e-9)


def test_integer_weights_equal_repeated_rows_at_fixed_alpha():
    X, Y = _data(30, 5)
    counts = np.random.RandomState(3).randint(0, 4, 30)
    coef, intercept, *_ = fit_ridge_loo(X, Y, counts.astype(float), [0.7])
    rows = np.repeat(np.arange(30), counts)
    coef2, intercept2, *_ = fit_ridge_loo(X[rows], Y[rows], np.ones(rows.size), [0.7])
    np.testing.assert_allclose(coef, coef2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(intercept, intercept2, rtol=1e-9)


@pytest.mark.parametrize("alpha", [0.0, 1e-15, 1e-8, 1e3])
def test_edge_alphas_and_rank_deficiency_stay_finite(alpha):
    X, Y = _data(30, 10)
    X[:, 3] = X[:, 2]  # rank deficient
    X[:, 5] = 7.0  # constant column
    coef, intercept, _, scores, loo = fit_ridge_loo(X, Y, np.ones(30), [alpha])
    assert np.all(np.isfinite(coef)) and np.all(np.isfinite(loo)) and np.all(np.isfinite(scores))
    if alpha == 0.0:  # minimum-norm least squares
        np.testing.assert_allclose(X @ coef + intercept, X @ np.linalg.lstsq(
            np.column_stack([X, np.ones(30)]), Y, rcond=None)[0][:10] + np.linalg.lstsq(
            np.column_stack([X, np.ones(30)]), Y, rcond=None)[0][10], rtol=1e-6, atol=1e-8)


def test_constant_features_give_the_weighted_mean():
    X = np.ones((10, 3))
    Y = np.arange(10.0)[:, None]
    w = np.arange(1.0, 11.0)
    coef, intercept, *_ = fit_ridge_loo(X, Y, w, ALPHAS)
    np.testing.assert_allclose(coef, 0.0)
    np.testing.assert_allclose(intercept, [np.average(Y[:, 0], weights=w)])
