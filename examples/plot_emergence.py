"""
Emergence of a planted direction as the sample size grows
=========================================================

A label that depends on one hidden direction ``u`` of Gaussian inputs only
through its square, ``y = sign(<u, x>^2 - 0.4549)`` (balanced classes), is
invisible to every linear method. One filtered layer of Neural LoFi finds
``u`` from the label-weighted second moment of its lifted features, but only
once there are enough samples: below a critical ``n/d`` its top direction is
noise, above it the direction aligns with ``u``. This is a spectral outlier
leaving the noise bulk (a BBP-type transition).

With the identity activation the learned feature is linear in ``x``, with
direction ``W v1`` (``W`` the lift's random weights, ``v1`` the kept
direction), so its overlap with ``u`` is a plain squared cosine. The full
study (three dimensions, more seeds, a ReLU lift, graded strengths and the
theory) is ``benchmarks/emergence.py``, described in the documentation page
"Emergence of planted directions".
"""

# %%
# Overlap against n/d
# -------------------
# Width ``P = 4d``: at large ``n`` the overlap tends to
# ``cos^2(W W^T u, u) ~ 1 / (1 + d/P) = 0.8`` rather than 1, since the random
# lift distorts the input space by ``W W^T / P``.
import matplotlib.pyplot as plt
import numpy as np

from sklearn_lofi import LoFiTransformer
from sklearn_lofi.datasets import make_quadratic_index

ALPHAS = np.geomspace(0.25, 20, 8)
SEEDS = range(3)


def layer(d, seed, label_centering=True):
    return LoFiTransformer(n_layers=1, width=4 * d, n_components=1, activation="identity",
                           label_centering=label_centering, eig_solver="dense", random_state=seed)


def overlap(model, u):
    a = model.random_weights_[0] @ model.components_[0][:, 0]
    return (a @ u) ** 2 / (a @ a)


fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
eigen = {}
for d in (25, 50):
    means, tops, nulls = [], [], []
    for alpha in ALPHAS:
        values, top, null = [], [], []
        for seed in SEEDS:
            X, y, u = make_quadratic_index(int(alpha * d), d, target="balanced", random_state=seed)
            model = layer(d, seed).fit(X, y)
            values.append(overlap(model, u))
            # the same layer on shuffled labels: its top |eigenvalue| is the edge of the noise bulk
            shuffled = layer(d, seed).fit(X, np.random.RandomState(seed).permutation(y))
            top.append(abs(model.eigenvalues_[0][0]))
            null.append(abs(shuffled.eigenvalues_[0][0]))
        means.append(np.mean(values))
        tops.append(np.mean(top))
        nulls.append(np.mean(null))
        print(f"d={d:3d} n/d={alpha:6.2f}  overlap {np.mean(values):.2f} +- {np.std(values):.2f}")
    axes[0].plot(ALPHAS, means, marker="o", label=f"d = {d}")
    eigen[d] = (tops, nulls)
axes[0].set(xscale="log", xlabel="n / d", ylabel=r"$\cos^2(W v_1, u)$", title="balanced sign target")
axes[0].legend()

# %%
# The data-driven criterion: an outlier leaves the bulk
# -----------------------------------------------------
# The kept eigenvalue (``eigenvalues_``) against that of the same layer
# fitted on shuffled labels. The curves separate where the overlap rises.
for d, (tops, nulls) in eigen.items():
    line, = axes[1].plot(ALPHAS, tops, marker="o", label=f"labels, d = {d}")
    axes[1].plot(ALPHAS, nulls, ls="--", color=line.get_color(), label=f"shuffled, d = {d}")
axes[1].set(xscale="log", yscale="log", xlabel="n / d", ylabel="top |eigenvalue|", title="outlier against bulk")
axes[1].legend(fontsize=8)

# %%
# Unbalanced classes: centre the labels
# -------------------------------------
# With ``y = sign(<u, x>^2 - 1)`` (``E[y] = -0.365``) and uncentred labels, the
# whole bulk is shifted by ``E[y]`` and its negative edge wins the
# ``|eigenvalue|`` rule: the kept direction is noise. ``label_centering=True``
# (the default) removes the shift.
d = 50
for centring in (True, False):
    means = []
    for alpha in ALPHAS:
        values = []
        for seed in SEEDS:
            X, y, u = make_quadratic_index(int(alpha * d), d, target="unbalanced", random_state=seed)
            values.append(overlap(layer(d, seed, centring).fit(X, y), u))
        means.append(np.mean(values))
    axes[2].plot(ALPHAS, means, marker="o", label=f"label_centering={centring}")
axes[2].set(xscale="log", xlabel="n / d", ylabel=r"$\cos^2(W v_1, u)$", title=f"unbalanced sign target, d = {d}")
axes[2].legend()
fig.tight_layout()
plt.show()
