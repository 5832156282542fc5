"""The hierarchical target (benchmarks/hierarchy.py, doc/paper/hierarchy.rst) in a small version.

Setting (d = 10, one hidden quadratic feature, n = 3000, degree-2 filtered
layers of width 600, K = 16): the thresholds below were checked on seeds 0-7
(first-layer R^2 of h: 0.62-0.77 with the true labels, 0.01-0.12 with shuffled
labels, 0.05-0.45 at n = 300; Neural LoFi over lazy test MSE, averaged over
three seeds: 0.85 on seeds 0-2 and on seeds 3-5).
"""

import numpy as np
import pytest

from sklearn_lofi import LoFiTransformer, NeuralLoFiRegressor, RandomFeatureBaselineRegressor
from sklearn_lofi.datasets import hidden_features, make_quadratic_of_quadratics

D, N, N_TEST = 10, 3000, 2000
LAYER = dict(width=600, n_components=16, degree=2)


def _data(seed):
    X, y, inner, _ = make_quadratic_of_quadratics(N + N_TEST, D, n_hidden=1, random_state=seed)
    return X[:N], y[:N], X[N:], y[N:], hidden_features(X[N:], inner)


def _explained(F, H):
    """Out-of-sample R^2 of a linear regression of H on F (fit on half the rows, scored on the rest)."""
    half = len(F) // 2
    design = np.column_stack([F, np.ones(len(F))])
    coef, *_ = np.linalg.lstsq(design[:half], H[:half], rcond=None)
    residual = H[half:] - design[half:] @ coef
    return 1.0 - (residual**2).sum() / ((H[half:] - H[half:].mean(axis=0)) ** 2).sum()


def test_regressor_first_layer_is_the_transformer():
    # The benchmark measures feature recovery with a LoFiTransformer standing for the regressors' first layer.
    X, y, X_test, _, _ = _data(0)
    X, y = X[:400], y[:400]
    reg = NeuralLoFiRegressor(n_layers=2, n_components=[16, 8], width=200, degree=2, head_width=100,
                              random_state=3).fit(X, y)
    layer = LoFiTransformer(n_layers=1, n_components=16, width=200, degree=2, random_state=3).fit(X, y)
    np.testing.assert_array_equal(reg.random_weights_[0], layer.random_weights_[0])
    np.testing.assert_allclose(reg.components_[0], layer.components_[0], atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1])
def test_first_layer_recovers_the_hidden_feature(seed):
    X, y, X_test, _, H_test = _data(seed)
    learned = _explained(LoFiTransformer(random_state=seed, **LAYER).fit(X, y).transform(X_test), H_test)
    shuffled = np.random.RandomState(seed).permutation(y)
    control = _explained(LoFiTransformer(random_state=seed, **LAYER).fit(X, shuffled).transform(X_test), H_test)
    few = _explained(LoFiTransformer(random_state=seed, **LAYER).fit(X[:300], y[:300]).transform(X_test), H_test)
    assert learned > 0.55, learned  # most of h's variance, from 16 of the 600 lifted directions
    assert control < 0.25, control  # the labels, not the lift, single h out
    assert learned > few + 0.1, (learned, few)  # recovery needs samples


def test_filtering_beats_the_lazy_baseline():
    ratios = []
    for seed in range(3):
        X, y, X_test, y_test, _ = _data(seed)
        shape = dict(width=600, degree=2, head_width=1000, random_state=seed)
        lofi = NeuralLoFiRegressor(n_components=16, **shape).fit(X, y)
        lazy = RandomFeatureBaselineRegressor(**shape).fit(X, y)
        ratios.append([np.mean((m.predict(X_test) - y_test) ** 2) for m in (lofi, lazy)])
    lofi_mse, lazy_mse = np.mean(ratios, axis=0)
    assert lofi_mse < 0.93 * lazy_mse, (lofi_mse, lazy_mse)
