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

import numpy as np
from sklearn import get_config

from ._features import ArrayRows, LiftedRows, lift, map_row_blocks, rms_normalizer
from ._spectral import _label_groups, choose_eig_solver, label_moments, randomized_top_directions, top_directions


def draw_weights(random_state, n_inputs, width, dtype):
    """Frozen Gaussian lift weights, drawn in float64 then cast.

    Drawing in float64 makes float32 and float64 fits consume the same random
    stream, so they learn the same model up to rounding.
    """
    return random_state.standard_normal((n_inputs, width)).astype(dtype, copy=False)


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
        ``eigenvalues`` per layer, the kept counts ``n_components``, the
        solvers that ran (``eig_solvers``) and the training representation
        ``H`` of the last layer as a row source (:mod:`._features`; streamed
        when a lazy last layer does not fit ``working_memory``). ``reduced``
        lists ``(layer, kept, requested)`` where fewer directions than
        requested were kept.
    """
    solver_random_state = np.random.RandomState(random_state.randint(np.iinfo(np.int32).max))
    H = ArrayRows(X)
    state = {"weights": [], "normalizers": [], "components": [], "eigenvalues": [],
             "n_components": [], "eig_solvers": [], "reduced": []}
    groups = None if labels is None else _label_groups(labels, X.shape[0])
    if labels is not None:
        labels = labels.astype(X.dtype, copy=False)
    for layer, width in enumerate(widths):
        normalizer = rms_normalizer(H, sample_weight)
        weights = draw_weights(random_state, H.width, width, X.dtype)
        # centred rows for the operator (``_features.LiftedRows``); lazy layers feed the next lift as they are
        Z = LiftedRows(H, weights, normalizer, activation, degree, n_threads, centre=labels is not None)
        if labels is None:
            values, vectors, solver, H = None, None, None, Z
        else:
            solver = eig_solver
            if solver == "auto":
                solver = choose_eig_solver(
                    Z.n_rows, width, n_components[layer], labels.shape[1],
                    None if groups is None else groups[0].shape[0],
                    Z.dtype.itemsize, get_config()["working_memory"] * 2**20,
                )
            if solver == "randomized":
                values, vectors, _, projected = randomized_top_directions(
                    Z, labels, sample_weight, n_components[layer], selection=selection,
                    random_state=solver_random_state, n_threads=n_threads,
                )
            else:
                T = label_moments(Z, labels, sample_weight, n_threads)
                values, vectors, _ = top_directions(
                    T, n_components[layer], selection=selection, eig_solver=solver,
                    random_state=solver_random_state,
                )
                del T
                projected = Z.project(vectors)
            H = ArrayRows(projected)
            if vectors.shape[1] < n_components[layer]:
                state["reduced"].append((layer + 1, vectors.shape[1], n_components[layer]))
        del Z
        state["weights"].append(weights)
        state["normalizers"].append(normalizer)
        state["components"].append(vectors)
        state["eigenvalues"].append(values)
        state["n_components"].append(H.width)
        state["eig_solvers"].append(solver)
        if verbose:
            kept = "lazy" if vectors is None else f"kept {vectors.shape[1]} ({solver})"
            print(f"[LoFi] layer {layer + 1}: width {width}, {kept}, output {H.width} features")
    state["H"] = H
    return state


def _replay(X, layers, activation, n_threads):
    H = X
    for W, normalizer, V, degree in layers:
        Z = lift(H, W, normalizer, activation, degree, n_threads)
        H = Z if V is None else Z @ V
    return H


def transform_layers(X, weights, normalizers, components, activation, degree, n_threads=1):
    """Replay fitted layers on new rows, by row blocks that fit ``working_memory``."""
    layers = [(W, c, V, degree) for W, c, V in zip(weights, normalizers, components)]
    widest = max([W.shape[1] for W in weights] + [X.shape[1]])
    return map_row_blocks(lambda rows: _replay(rows, layers, activation, n_threads), X, widest)


def predict_rows(X, weights, normalizers, components, activation, degree, head, coef, intercept,
                 n_threads=1):
    """Readout scores ``features(X) @ coef + intercept``, by row blocks.

    ``head`` is ``(weights, normalizer)`` of the unfiltered head, which always
    uses the full activation, or None.
    """
    layers = [(W, c, V, degree) for W, c, V in zip(weights, normalizers, components)]
    if head is not None:
        layers.append((head[0], head[1], None, None))
    widest = max([W.shape[1] for W, *_ in layers] + [X.shape[1]])
    return map_row_blocks(lambda rows: _replay(rows, layers, activation, n_threads) @ coef + intercept,
                          X, widest)
