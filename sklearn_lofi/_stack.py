"""The Neural LoFi layer stack: the whole method in one place.

Given a representation ``H`` (``H_0 = X``), one layer is (the user guide, "The method"):

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

**Kernel form** (P -> infinity, the user guide, "The infinite-width (kernel) form"). Steps 3-5 depend on ``Z``
only through ``G = Z Z^T``: any ``S`` with ``S S^T = G`` gives the same
operator spectrum and the same projected features, so the n x n
``S = G^{1/2}`` can stand in for the lift. With ``B`` the top directions of
``S^T diag(r) S = G^{1/2} diag(r) G^{1/2}`` (the very same ``label_moments``
and ``top_directions``), ``Z V = G^{1/2} B`` and new rows get
``G_x^T G^{-1/2} B``. As ``P -> infinity``, ``G`` is the NNGP kernel of the
normalised inner products (``_nngp``): :func:`fit_kernel_layers` and
:func:`predict_kernel_rows` are that limit of the finite stack, head and
readout (kernel ridge, ``_ridge.fit_kernel_ridge_loo``).

**Convolutional layer.** A random convolution followed by a 1 x 1 filter is
steps 1-5 applied to the patch matrix (``_patches.PatchRows``: one row per
patch of every image, each with its image's label and weight), so the
operator averages ``y z z^T`` over all patch positions and its directions are
patch filters (:func:`fit_conv_layer`, :func:`transform_conv`).
"""

import math
import warnings

import numpy as np
from scipy import linalg
from sklearn import get_config

from ._features import (
    ArrayRows,
    LiftedRows,
    _column_mean,
    as_rows,
    lift,
    lifted_rows,
    map_row_blocks,
    rms_normalizer,
)
from ._patches import PatchRows, average_pool
from ._nngp import nngp_diagonal, nngp_kernel_, series_terms
from ._spectral import (
    _label_groups,
    choose_eig_solver,
    label_moments,
    randomized_top_directions,
    serial_blas,
    top_directions,
)


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
    X : ndarray of shape (n, D), float32 or float64, or a row source
        A ``_distributed.DaskRows`` runs every pass over the rows as a map
        over its chunks and a tree of sums; the layers' representations then
        stay lazy (recomputed from ``X`` in each pass).
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
    H = as_rows(X)
    dtype = H.dtype
    state = {"weights": [], "normalizers": [], "components": [], "eigenvalues": [],
             "n_components": [], "eig_solvers": [], "reduced": []}
    groups = None if labels is None else _label_groups(labels, H.n_rows)
    if labels is not None:
        labels = labels.astype(dtype, copy=False)
    for layer, width in enumerate(widths):
        normalizer = rms_normalizer(H, sample_weight, n_threads)
        weights = draw_weights(random_state, H.width, width, dtype)
        # centred rows for the operator (``_features.LiftedRows``); lazy layers feed the next lift as they are
        Z = lifted_rows(H, weights, normalizer, activation, degree, n_threads, centre=labels is not None)
        if labels is None:
            values, vectors, solver, H = None, None, None, Z
        else:
            solver = eig_solver
            values, vectors, projected, solver = _filter(
                Z, labels, groups, sample_weight, n_components[layer], selection, eig_solver,
                solver_random_state, n_threads)
            H = as_rows(projected)
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


def _filter(Z, labels, groups, sample_weight, n_components, selection, eig_solver, random_state, n_threads):
    """Steps 3-5 on a row source ``Z``: directions, their projection, the solver used."""
    solver = eig_solver
    if solver == "auto":
        solver = choose_eig_solver(
            Z.n_rows, Z.width, n_components, labels.shape[1],
            None if groups is None else groups[0].shape[0],
            Z.dtype.itemsize, get_config()["working_memory"] * 2**20,
        )
    if solver == "randomized":
        values, vectors, _, projected = randomized_top_directions(
            Z, labels, sample_weight, n_components, selection=selection,
            random_state=random_state, n_threads=n_threads,
        )
    else:
        T = label_moments(Z, labels, sample_weight, n_threads)
        values, vectors, _ = top_directions(
            T, n_components, selection=selection, eig_solver=solver, random_state=random_state,
        )
        del T
        projected = Z.project(vectors)
    return values, vectors, projected, solver


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


def fit_conv_layer(X, labels, sample_weight, *, geometry, width, n_components, activation, degree, selection,
                   eig_solver, pool, random_state, n_threads=1, verbose=0):
    """Fit one convolutional layer on images ``X`` (n, height * width * channels).

    ``labels`` (n, m) are the images' operator labels (centred and scaled by
    the caller); every patch gets its image's label and weight, so that
    ``T[c] = sum_i w_i Y_ic sum_s z_is z_is^T / (S sum_i w_i)``. The random
    state is consumed as in :func:`fit_layers`: a solver seed, then the lift.

    Returns
    -------
    state : dict
        ``weights`` (patch size x width), ``normalizer``, ``components``,
        ``eigenvalues``, ``eig_solver`` and the training features
        ``H`` (n, pooled height * pooled width * kept), as an array.
    """
    solver_random_state = np.random.RandomState(random_state.randint(np.iinfo(np.int32).max))
    n, positions = X.shape[0], geometry.positions
    patches = PatchRows(X, geometry, n_threads, lifted_width=width)
    patch_weight = np.repeat(sample_weight, positions)
    normalizer = rms_normalizer(patches, patch_weight)
    weights = draw_weights(random_state, patches.width, width, X.dtype)
    Z = LiftedRows(patches, weights, normalizer, activation, degree, n_threads, centre=True)
    patch_labels = np.repeat(labels.astype(X.dtype, copy=False), positions, axis=0)
    groups = _label_groups(labels, n)
    if groups is not None:
        groups = (groups[0], np.repeat(groups[1], positions))
    values, vectors, projected, solver = _filter(
        Z, patch_labels, groups, patch_weight, n_components, selection, eig_solver, solver_random_state, n_threads)
    del Z
    maps = average_pool(projected.reshape(n, geometry.out_height, geometry.out_width, -1), pool)
    if verbose:
        print(f"[LoFi] convolutional layer: {positions} positions x {n} images, width {width}, "
              f"kept {vectors.shape[1]} ({solver}), output {maps[0].size} features")
    return {"weights": weights, "normalizer": normalizer, "components": vectors, "eigenvalues": values,
            "eig_solver": solver, "H": maps.reshape(n, -1)}


def transform_conv(X, geometry, weights, normalizer, components, activation, degree, pool, n_threads=1):
    """Feature maps of new images, by blocks of images that fit ``working_memory``."""

    def replay(images):
        Z = lift(PatchRows(images, geometry, n_threads).take(slice(None)), weights, normalizer, activation, degree,
                 n_threads)
        maps = (Z @ components).reshape(images.shape[0], geometry.out_height, geometry.out_width, -1)
        return average_pool(maps, pool).reshape(images.shape[0], -1)

    return map_row_blocks(replay, X, geometry.positions * max(weights.shape[1], geometry.patch_size))


# Whitening floor: eigenvalues of the layer kernel G below WHITENING_FLOOR times
# its mean diagonal are raised to it before G^{1/2} and G^{-1/2}, which bounds
# the amplification of near-null directions in new rows' features. The research
# code clips at an absolute 1e-6 on kernels of unit-order diagonal; relative to
# the mean diagonal it is the same there and independent of the kernel's scale.
# The estimators run the kernel layers in float64 (``_base.BaseKernelPredictor``);
# a float32 G would get at least n * eps, the rounding of its eigenvalues.
WHITENING_FLOOR = 1e-6


def _squared_norms(features):
    # summed in float64, cast element by element (no float64 copy of the features)
    return np.einsum("ij,ij->i", features, features, dtype=np.float64)


def _rms(squared_norms, sample_weight):
    return math.sqrt(float(sample_weight @ squared_norms) / float(sample_weight.sum()))


def _kernel_normalizer(features, sample_weight):
    """Weighted root-mean-square row norm, free of under- and overflow.

    The squares are taken of the rows divided by their largest entry: those
    of rows of norm 1e-200 underflow to zero and of 1e160 overflow, although
    the norm itself is a normal number. 1.0 for all-zero rows, as the finite
    ``rms_normalizer``.
    """
    largest = float(np.max(np.abs(features), initial=0.0))
    if not (np.isfinite(largest) and largest > 0.0):
        return 1.0
    c = largest * _rms(_squared_norms(features / features.dtype.type(largest)), sample_weight)
    if not np.isfinite(c) or c <= 0.0:
        return 1.0
    return c


# Below this relative spread of the input rows (mean squared distance to their
# weighted mean over their mean squared norm), the rows are so nearly parallel
# that the differences between their kernel entries, about that small relative
# to the entries themselves, are lost in float64 rounding.
_RESOLVABLE_SPREAD = 1e-12


def _warn_if_unresolvable(scaled, sample_weight):
    # ``scaled``: the rows over their RMS norm
    mean = sample_weight @ scaled / sample_weight.sum()
    spread = _rms(_squared_norms(scaled - mean), sample_weight) ** 2
    if spread < _RESOLVABLE_SPREAD:
        warnings.warn(
            f"The rows of X are nearly parallel (their spread is {math.sqrt(spread):.1e} of their norm): "
            "the kernel estimators cannot resolve their differences in floating point. Centre or "
            "standardise X (e.g. StandardScaler), or use the finite-width estimators, which can.",
            UserWarning, stacklevel=6,
        )


def whitened_filter(G, labels, groups, sample_weight, n_components, *, selection, eig_solver, random_state,
                    n_threads=1):
    """Filter of one kernel layer: a square root of ``G`` stands in for the lift.

    With ``G = U diag(mu) U^T`` (``mu`` raised to the whitening floor), the
    factor ``F = U diag(sqrt(mu))`` has ``F F^T = G``, so it is as good a
    lift as the symmetric ``G^{1/2} = F U^T`` and costs no n x n product: its
    operator ``F^T diag(r) F = U^T (G^{1/2} diag(r) G^{1/2}) U`` has the same
    eigenvalues and the eigenvectors ``B' = U^T B``, and ``F B' = G^{1/2} B``.
    ``G`` is overwritten.

    Returns
    -------
    values : ndarray of shape (k,)
        As the finite layer's eigenvalues (same operator normalisation).
    features : ndarray of shape (n, k)
        ``G^{1/2} B``, the training rows' new features.
    coefs : ndarray of shape (n, k)
        ``G^{-1/2} B = U diag(1 / sqrt(mu)) B'``: a new row's features are
        ``kernel(x, X_train) @ coefs``.
    solver : str
    """
    n = G.shape[0]
    floor = max(WHITENING_FLOOR, n * np.finfo(G.dtype).eps) * max(float(np.trace(G)) / n, 0.0)
    with serial_blas():
        mu, F = linalg.eigh(G, driver="evd", check_finite=False, overwrite_a=True)
    root = np.sqrt(np.maximum(mu, max(floor, np.finfo(G.dtype).tiny))).astype(F.dtype)
    F *= root  # columns: U diag(sqrt(mu))
    # centred rows plus offset, as the finite lift hands them to the operator
    rows = ArrayRows(F)
    rows.offset = _column_mean(F)
    F -= rows.offset
    values, rotated, features, solver = _filter(rows, labels, groups, sample_weight, n_components, selection,
                                                eig_solver, random_state, n_threads)
    coefs = rows.project(rotated / (root * root)[:, None])  # U diag(1/sqrt(mu)) B' = F diag(1/mu) B'
    return values, features, coefs, solver


def fit_kernel_layers(X, labels, sample_weight, *, n_components, activation, degree, head, selection="abs",
                      eig_solver="auto", random_state=None, n_threads=1, verbose=0):
    """Fit the infinite-width stack on training data.

    Parameters
    ----------
    X : ndarray of shape (n, D)
    labels : ndarray of shape (n, m) or None
        Operator labels; None for a lazy (deep NNGP) stack.
    n_components : list of int or None
        One entry per layer; None entries are unfiltered (NNGP) layers.
    head : bool
        Add one unfiltered layer with the full activation.

    Returns
    -------
    state : dict
        Per layer (the head last): ``inputs`` (the training features the
        layer reads, or None when it reads the previous layer's kernel),
        ``normalizers`` (RMS norm), ``variances`` (training rows' normalised
        squared norms), ``series`` (their ``_nngp.series_terms``), ``degrees``, ``coefs`` (``G^{-1/2} B`` or None),
        ``eigenvalues``, ``n_components``, ``eig_solvers``, ``reduced``; and
        the last representation: ``features`` (n x k) or ``kernel`` (n x n).
    """
    solver_random_state = np.random.RandomState(random_state.randint(np.iinfo(np.int32).max))
    groups = None if labels is None else _label_groups(labels, X.shape[0])
    if labels is not None:
        labels = labels.astype(X.dtype, copy=False)
    plan = [(k, degree) for k in n_components] + ([(None, None)] if head else [])
    state = {key: [] for key in ("inputs", "normalizers", "variances", "series", "degrees", "coefs",
                                 "eigenvalues", "n_components", "eig_solvers", "reduced")}
    features, kernel = X, None
    for layer, (wanted, layer_degree) in enumerate(plan):
        if features is not None:
            inputs = features
            c = _kernel_normalizer(features, sample_weight)
            # scaled before the products: the inner products of large inputs
            # overflow (and those of tiny ones underflow) long before the inputs do
            scaled = features / features.dtype.type(c)
            if layer == 0:
                _warn_if_unresolvable(scaled, sample_weight)
            Q = scaled @ scaled.T
            variances = _squared_norms(scaled).astype(Q.dtype)
            del scaled
        else:
            inputs, Q = None, kernel
            c = _rms(np.diag(Q).astype(np.float64), sample_weight)  # the NNGP kernels' diagonals are O(1)
            if not (np.isfinite(c) and c > 0.0):
                c = 1.0
            Q /= Q.dtype.type(c * c)
            variances = np.diag(Q).copy()
        series = series_terms(activation, layer_degree, variances)
        G = nngp_kernel_(Q, variances, variances, activation, layer_degree, n_threads, symmetric=True,
                         row_series=series)
        del Q
        values = coefs = solver = None
        if wanted is None:
            features, kernel = None, G
        else:
            values, features, coefs, solver = whitened_filter(
                G, labels, groups, sample_weight, wanted, selection=selection, eig_solver=eig_solver,
                random_state=solver_random_state, n_threads=n_threads)
            kernel = None
            del G
            if features.shape[1] < wanted:
                state["reduced"].append((layer + 1, features.shape[1], wanted))
        for key, value in (("inputs", inputs), ("normalizers", c), ("variances", variances), ("series", series),
                           ("degrees", layer_degree), ("coefs", coefs), ("eigenvalues", values),
                           ("n_components", None if coefs is None else coefs.shape[1]), ("eig_solvers", solver)):
            state[key].append(value)
        if verbose:
            kind = "NNGP" if coefs is None else f"kept {coefs.shape[1]} ({solver})"
            print(f"[LoFi] kernel layer {layer + 1}: {kind}")
    state["features"], state["kernel"] = features, kernel
    return state


def _kernel_replay(X, inputs, normalizers, variances, series, degrees, coefs, activation, n_threads):
    """The last representation of new rows: features (m x k) or the cross kernel (n x m)."""
    features, cross, diagonal = X, None, None
    for train, c, train_variances, train_series, layer_degree, A in zip(
            inputs, normalizers, variances, series, degrees, coefs):
        if features is not None:
            scale = features.dtype.type(c)
            scaled = features / scale
            cross = (train / scale) @ scaled.T  # scaled first, as in the fit
            diagonal = _squared_norms(scaled).astype(features.dtype)
        else:
            cross /= cross.dtype.type(c * c)
            diagonal = diagonal / diagonal.dtype.type(c * c)
        new_series = series_terms(activation, layer_degree, diagonal)
        cross = nngp_kernel_(np.ascontiguousarray(cross), train_variances, diagonal, activation, layer_degree,
                             n_threads, row_series=train_series, col_series=new_series)
        if A is None:
            features, diagonal = None, nngp_diagonal(diagonal, activation, layer_degree, series=new_series)
        else:
            features, cross, diagonal = cross.T @ A, None, None
    return features, cross


def predict_kernel_rows(X, inputs, normalizers, variances, series, degrees, coefs, activation, readout, intercept,
                        n_threads=1):
    """Readout scores of new rows, by row blocks.

    ``readout`` is the kernel ridge's ``beta`` (n x m) when the last layer is
    unfiltered, else the ridge coefficients on the last features.
    """
    n = variances[0].shape[0] if variances else 0

    def scores(rows):
        features, cross = _kernel_replay(rows, inputs, normalizers, variances, series, degrees, coefs, activation,
                                         n_threads)
        return (cross.T if features is None else features) @ readout + intercept

    # one cross-kernel column (n numbers) and its copy per row
    return map_row_blocks(scores, X, 2 * n + X.shape[1])

