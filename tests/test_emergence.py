"""Emergence of planted directions (benchmarks/emergence.py, doc/paper/emergence.rst), in small.

One filtered layer with the identity lift (``P = 4d``) learns a feature that
is linear in ``x``, with direction ``W v1``; these tests measure its overlap
with the planted direction at ``d = 50``, averaged over 3 seeds. The margins
were set from 10 seeds (recorded next to each assertion).
"""

import numpy as np
import pytest

from sklearn_lofi import LoFiTransformer
from sklearn_lofi.datasets import make_graded_quadratic_indices, make_quadratic_index

D = 50
SEEDS = (0, 1, 2)


def _layer(k, seed, centring=True):
    return LoFiTransformer(n_layers=1, width=4 * D, n_components=k, activation="identity",
                           label_centering=centring, eig_solver="dense", random_state=seed)


def _overlap(target, alpha, seed, centring=True):
    X, y, u = make_quadratic_index(int(alpha * D), D, target=target, random_state=seed)
    model = _layer(1, seed, centring).fit(X, y)
    a = model.random_weights_[0] @ model.components_[0][:, 0]
    return (a @ u) ** 2 / (a @ a)


@pytest.mark.parametrize("target", ["regression", "balanced"])
def test_overlap_near_zero_below_and_high_above_threshold(target):
    # 10 seeds: any 3-seed mean <= 0.072 at n/d = 0.25 and >= 0.63 at n/d = 20
    # (the large-n limit is cos^2(W W^T u, u) ~ 1 / (1 + d/P) = 0.8, not 1).
    below = np.mean([_overlap(target, 0.25, seed) for seed in SEEDS])
    above = np.mean([_overlap(target, 20, seed) for seed in SEEDS])
    assert below < 0.15
    assert above > 0.5


def test_label_centering_recovers_the_unbalanced_direction():
    # Uncentred, the bulk sits at E[y] = -0.365 and its negative edge wins the
    # |eigenvalue| rule up to n/d ~ 66 (asymptotic theory). 10 seeds at n/d = 10:
    # centred 0.30-0.70 (mean 0.60), uncentred <= 0.007.
    centred = np.array([_overlap("unbalanced", 10, seed, True) for seed in SEEDS])
    uncentred = np.array([_overlap("unbalanced", 10, seed, False) for seed in SEEDS])
    assert np.all(centred > uncentred)
    assert centred.mean() > 0.4
    assert uncentred.mean() < 0.05


def test_uncentred_unbalanced_layer_keeps_a_negative_bulk_eigenvalue():
    X, y, _ = make_quadratic_index(10 * D, D, target="unbalanced", random_state=0)
    assert _layer(1, 0, centring=False).fit(X, y).eigenvalues_[0][0] < 0
    assert _layer(1, 0, centring=True).fit(X, y).eigenvalues_[0][0] > 0


def test_strongest_direction_emerges_first():
    # strengths (1.0, 0.6, 0.3), K = 3, n/d = 10; 10 seeds: u_1 0.46-0.77
    # (mean 0.62), u_3 0.01-0.34 (mean 0.11), u_1 > u_3 for every seed.
    overlaps = []
    for seed in SEEDS:
        X, y, U = make_graded_quadratic_indices(10 * D, D, strengths=(1.0, 0.6, 0.3), random_state=seed)
        model = _layer(3, seed).fit(X, y)
        Q, _ = np.linalg.qr(model.random_weights_[0] @ model.components_[0])
        overlaps.append(np.sum((U @ Q) ** 2, axis=1))
    overlaps = np.array(overlaps)
    assert np.all(overlaps[:, 0] > overlaps[:, 2])
    mean = overlaps.mean(axis=0)
    assert mean[0] > mean[2] + 0.25
    assert mean[1] > mean[2]
