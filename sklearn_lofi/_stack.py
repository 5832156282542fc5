"""The Neural LoFi layer stack: the whole method in one place.

Given a representation ``H`` (``H_0 = X``), one layer is (DESIGN.md §1):

1. normalise: ``c = sqrt(weighted mean of ||h||^2)``, stored for transform time;
2. lift: ``Z = sigma(H W / c) / sqrt(P)`` with ``W`` (D x P) i.i.d. N(0, 1);
3. operator: ``T[c] = Z^T diag(w * Y[:, c]) Z / sum(w)`` (``_spectral.label_moments``);
4. filter: keep the top directions ``V`` (P x K) by |eigenvalue| (``_spectral.top_directions``);
5. project: ``H <- Z V``.

A lazy (unfiltered) layer stops after step 2 with ``H <- Z``. The predictors
add one more unfiltered lift (the random-feature head) and a ridge readout
(``_ridge.fit_ridge_loo``). Estimators call :func:`fit_layers` and
:func:`transform_layers`; everything here is plain NumPy state, so fitted
models pickle and travel between processes.
"""

import math

import numpy as np

from ._kernels import apply_activation_
from ._spectral import label_moments, randomized_top_directions, top_directions


def rms_normalizer(H, sample_weight):
    """Weighted root-mean-square row norm of ``H`` (1.0 for an all-zero ``H``).

    The sum of squares is taken in float64: squared norms of large float32
    inputs overflow long before the inputs do.
    """
    H64 = H.astype(np.float64, copy=False)
    squared_norms = np.einsum("ij,ij->i", H64, H64)
    c = math.sqrt(float(sample_weight @ squared_norms) / float(sample_weight.sum()))
    if not np.isfinite(c) or c <= np.finfo(np.float64).tiny:
        return 1.0
    return c


def draw_weights(random_state, n_inputs, width, dtype):
    """Frozen Gaussian lift weights, drawn in float64 then cast.

    Drawing in float64 makes float32 and float64 fits consume the same random
    stream, so they learn the same model up to rounding.
    """
    return random_state.standard_normal((n_inputs, width)).astype(dtype, copy=False)


def lift(H, weights, normalizer, activation, degree, n_threads=1):
    """``sigma(H W / c) / sqrt(P)`` as a new C-contiguous array."""
    # float(): a NumPy float64 scalar would promote float32 H to float64 (NEP 50)
    pre_activation = np.ascontiguousarray((H * (1.0 / float(normalizer))) @ weights)
    scale = 1.0 / math.sqrt(weights.shape[1])
    return apply_activation_(pre_activation, activation, degree, scale, n_threads)


def fit_layers(
    X,
    labels,
    sample_weight,
    *,
    widths,
    n_components,
    activation,
    degree,
    selection,
    eig_solver,
    random_state,
    n_threads=1,
    verbose=0,
):
    """Fit the layer stack on training data.

    Parameters
    ----------
    X : ndarray of shape (n, D), float32 or float64
    labels : ndarray of shape (n, m) or None
        Operator labels (centred and scaled by the caller). ``None`` fits the
        lazy stack: every layer is unfiltered (``V = I``).
    sample_weight : ndarray of shape (n,)
    widths, n_components : list of int, one per layer
    random_state : RandomState
        Consumed in order: one seed for the eigensolver's start vectors, then
        the weights of layer 1, layer 2, ... The solver draws from its own
        generator, so the weights do not depend on which solver runs.

    Returns
    -------
    state : dict
        ``weights``, ``normalizers``, ``components`` (None for lazy layers) and
        ``eigenvalues`` per layer, the kept counts ``n_components`` and the
        training representation ``H`` of the last layer. ``reduced`` lists
        ``(layer, kept, requested)`` where fewer directions than requested
        were kept.
    """
    solver_random_state = np.random.RandomState(random_state.randint(np.iinfo(np.int32).max))
    H = X
    state = {"weights": [], "normalizers": [], "components": [], "eigenvalues": [],
             "n_components": [], "reduced": []}
    for layer, width in enumerate(widths):
        normalizer = rms_normalizer(H, sample_weight)
        weights = draw_weights(random_state, H.shape[1], width, X.dtype)
        Z = lift(H, weights, normalizer, activation, degree, n_threads)
        if labels is None:
            values, vectors, H = None, None, Z
        else:
            if eig_solver == "randomized":
                values, vectors, _ = randomized_top_directions(
                    Z, labels, sample_weight, n_components[layer], selection=selection,
                    random_state=solver_random_state,
                )
            else:
                T = label_moments(Z, labels.astype(X.dtype, copy=False), sample_weight)
                values, vectors, _ = top_directions(
                    T, n_components[layer], selection=selection, eig_solver=eig_solver,
                    random_state=solver_random_state,
                )
                del T
            H = Z @ vectors
            if vectors.shape[1] < n_components[layer]:
                state["reduced"].append((layer + 1, vectors.shape[1], n_components[layer]))
        del Z
        state["weights"].append(weights)
        state["normalizers"].append(normalizer)
        state["components"].append(vectors)
        state["eigenvalues"].append(values)
        state["n_components"].append(H.shape[1])
        if verbose:
            kept = "lazy" if vectors is None else f"kept {vectors.shape[1]}"
            print(f"[LoFi] layer {layer + 1}: width {width}, {kept}, output {H.shape[1]} features")
    state["H"] = H
    return state


def transform_layers(X, weights, normalizers, components, activation, degree, n_threads=1):
    """Replay fitted layers on new rows."""
    H = X
    for W, normalizer, V in zip(weights, normalizers, components):
        Z = lift(H, W, normalizer, activation, degree, n_threads)
        H = Z if V is None else Z @ V
    return H
