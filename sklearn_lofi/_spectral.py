"""The label-weighted moment operator and the selection of its top directions.

For lifted features ``Z`` (n x P), sample weights ``w`` and labels ``Y``
(n x m, already centred and scaled by the caller), the correlation tensor is

    T[c] = Z^T diag(w * Y[:, c]) Z / sum(w),     c = 1..m

For a scalar label (m = 1) the kept directions are the top eigenvectors of
``C = T[0]`` ranked by |eigenvalue| (or only the positive / negative ones). For
vector labels they are the top left singular vectors of the unfolding
``[T[1] ... T[m]]``, i.e. the top eigenvectors of ``sum_c T[c]^2``; for m = 1
that is exactly the |eigenvalue| rule.
"""

import functools
import threading
import warnings
from contextlib import contextmanager

import numpy as np
from scipy import linalg
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh
from threadpoolctl import ThreadpoolController  # a scikit-learn dependency

from ._features import accumulate_blocks, as_rows
from ._kernels import label_weighted_blocks, scale_rows

# "auto" uses ARPACK's Lanczos for a few directions of a wide operator. Measured
# here on a P x P label-weighted operator of ReLU features (n = 2000): P = 2000,
# K = 32: ARPACK 0.15 s against 0.79 s for the full dense eigh ("evd");
# P = 1000, K = 32: 0.02 s against 0.13 s. Lanczos loses its edge as K nears
# P (the reference code switches at K = P/4, as here); tiny operators go dense.
_ARPACK_MIN_WIDTH = 200
_ARPACK_MAX_FRACTION = 0.25

# Randomized subspace iteration replaces forming the operator when its passes
# cost fewer flops. Forming T costs ~2 n P^2 flops (plus 2 G m P^2 and the
# 2 m P^3 unfolding for vector labels); the randomized solver (n_power_iter + 1)
# applications of 4 n P b flops each (times m + 1 for vector labels). Its thin
# products run slower per flop than forming T (0.014 against 0.011 s/Gflop,
# cost models fitted on 60 measured layer steps), but a formed T still needs
# its eigensolve, which the count leaves out; the two roughly cancel. Plain
# flop counts pick a solver within 6 % of the fastest on average over those
# cells (worst 1.8x), against 8 % (worst 2.8x) when the randomized count was
# first weighted by 2 (doc/performance.rst, "How eig_solver='auto' chooses").
_N_OVERSAMPLES = 10
_N_POWER_ITER = 6


def choose_eig_solver(n_rows, width, n_components, n_label_columns, n_groups, itemsize, budget_bytes):
    """The solver ``eig_solver="auto"`` runs for one layer.

    ``n_groups`` is the number of distinct label rows (or None if the labels
    are not grouped). The formed operator is also ruled out when it would not
    fit in ``budget_bytes``.
    """
    m = n_label_columns
    wanted = min(n_components, width)
    block = min(width, wanted + _N_OVERSAMPLES)
    formed_flops = 2.0 * n_rows * width**2
    formed_bytes = m * width**2 * itemsize
    if m > 1:
        formed_flops += 2.0 * m * width**3
        if n_groups is not None:
            formed_flops += 2.0 * n_groups * m * width**2
            formed_bytes += n_groups * width**2 * itemsize
    randomized_flops = (_N_POWER_ITER + 1) * 4.0 * n_rows * width * block * (1 if m == 1 else m + 1)
    if formed_bytes > budget_bytes or randomized_flops < formed_flops:
        return "randomized"
    if width >= _ARPACK_MIN_WIDTH and wanted <= _ARPACK_MAX_FRACTION * width:
        return "arpack"
    return "dense"


def _label_groups(Y, n_rows):
    """Distinct label rows and each row's group, when grouping saves work.

    When the label rows take few distinct values (classification codings),
    ``T[c] = sum_g Y_g[c] A_g`` with one weighted second moment ``A_g`` per
    distinct label row: n P^2 + G m P^2 flops instead of m n P^2.
    """
    m = Y.shape[1]
    if m == 1:
        return None
    values, inverse = np.unique(Y, axis=0, return_inverse=True)
    if values.shape[0] * m < (m - 1) * n_rows:
        return values, inverse.reshape(-1)
    return None


def label_moments(features, Y, sample_weight, n_threads=1):
    """Correlation tensor ``T`` of shape (m, P, P) (see module docstring).

    ``features`` is the lifted ``Z`` (n x P), as an array or a row source
    (:mod:`._features`); a streamed source is read in one pass. ``n_threads``
    is the numba thread budget of the row weighting (results do not depend
    on it). A source with an ``offset`` ``mu`` hands out centred rows
    ``Zc = Z - 1 mu^T``; for a column ``r`` of row weights,

        Z^T diag(r) Z = Zc^T diag(r) Zc + mu u^T + u mu^T,   u = Zc^T r + (sum r / 2) mu,

    so the large common part of the rows never enters a sum that cancels it.
    """
    features = as_rows(features)
    width, dtype, offset = features.width, features.dtype, features.offset
    m = Y.shape[1]
    row_weights = (sample_weight[:, None] * Y / float(sample_weight.sum())).astype(dtype, copy=False)
    groups = _label_groups(Y, features.n_rows)
    if groups is None:
        # one moment per label column
        n_moments = m
        weight_sums = row_weights.sum(axis=0, dtype=np.float64)
        add, row_arrays = _add_moments, (row_weights,)
    else:
        # T[c] = sum_g values[g, c] A_g, one weighted second moment A_g per distinct label row
        values, inverse = groups
        group_weights = (sample_weight / float(sample_weight.sum())).astype(dtype, copy=False)
        n_moments = values.shape[0]
        weight_sums = np.bincount(inverse, weights=group_weights, minlength=n_moments)
        add, row_arrays = _add_group_moments, (inverse, group_weights)
    # Zc^T r per moment, for the offset terms
    T, row_sums = accumulate_blocks(features, [((n_moments, width, width), dtype), ((n_moments, width), np.float64)],
                                    add, *row_arrays, n_threads=n_threads)
    if offset is not None:
        u = row_sums + 0.5 * weight_sums[:, None] * offset
        for k in range(n_moments):
            T[k] += 2.0 * np.outer(offset, u[k].astype(dtype))  # halved by the symmetrisation below
    if groups is not None:
        # as one (m x G) @ (G x P^2) product
        T = (values.T.astype(dtype) @ T.reshape(n_moments, -1)).reshape(m, width, width)
    # GEMM leaves ~eps asymmetry; the solvers assume exact symmetry.
    for c in range(m):
        T[c] = 0.5 * (T[c] + T[c].T)
    return T


def _add_moment(moment, row_sums, Z, weights, n_threads):
    weighted = scale_rows(Z, weights, n_threads)
    moment += weighted.T @ Z
    row_sums += weighted.sum(axis=0, dtype=np.float64)


def _add_moments(accumulators, rows, Z, row_weights, n_threads):
    T, row_sums = accumulators
    for c in range(row_weights.shape[1]):
        _add_moment(T[c], row_sums[c], Z, row_weights[:, c], n_threads)


def _add_group_moments(accumulators, rows, Z, groups, weights, n_threads):
    T, row_sums = accumulators
    for g in range(T.shape[0]):
        members = np.flatnonzero(groups == g)
        if members.size:
            _add_moment(T[g], row_sums[g], Z[members], weights[members], n_threads)


def _add_label_products(accumulators, rows, Z, row_weights, n_threads, V, ZV_out, with_row_sums):
    # a pass of the randomized solver: T_c V for every label column c
    ZV = Z @ V
    if ZV_out is not None:
        ZV_out[rows] = ZV
    accumulators[0] += Z.T @ label_weighted_blocks(ZV, row_weights, n_threads)
    if with_row_sums:
        accumulators[1] += Z.T @ row_weights


def _add_unfolded_products(accumulators, rows, Z, row_weights, n_threads, TV, block):
    # second half of a vector-label pass: sum_c T_c (T_c V)
    ZTV = (Z @ TV).reshape(-1, row_weights.shape[1], block)
    accumulators[0] += Z.T @ np.einsum("ic,icb->ib", row_weights, ZTV)


def _eigenvalue_rtol(dtype):
    # Eigenvalues of a rank-deficient operator that are zero in exact arithmetic
    # come out at 1-2 eps * |lambda_max| (measured on ReLU operators with
    # n = 50..300 rows, P = 1024..4096, float32 and float64, independent of
    # P). A margin of 100 separates them from real directions without depending
    # on n (so that zero-weight rows and repeated rows leave the kept set
    # unchanged) and keeps float32 fits close to float64 ones: a P * eps rule
    # dropped a third of the directions of float32 fits on breast cancer.
    return 100.0 * np.finfo(dtype).eps


def _order(values, selection, tie_tolerance=0.0):
    """Indices of ``values`` in selection order.

    For "abs", |lambda| descending; eigenvalues whose magnitudes differ by at
    most ``tie_tolerance`` count as tied (a +3/-3 pair comes out of eigensolvers
    as 3 - 2e-15 and -3 - 2e-15) and go positive first.
    """
    if selection == "positive":
        return np.argsort(-values, kind="stable")
    if selection == "negative":
        return np.argsort(values, kind="stable")
    order = np.argsort(-np.abs(values), kind="stable")
    magnitudes = np.abs(values[order])
    starts_group = np.concatenate([[True], magnitudes[:-1] - magnitudes[1:] > tie_tolerance])
    return order[np.lexsort((-values[order], np.cumsum(starts_group)))]


def _eligible(values, selection, threshold):
    if selection == "positive":
        return values > threshold
    if selection == "negative":
        return values < -threshold
    return np.abs(values) > threshold


def canonical_signs(vectors):
    """Flip each column so that its largest-magnitude entry is positive.

    Ties between equal magnitudes go to the first index.
    """
    rows = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[rows, np.arange(vectors.shape[1])])
    signs[signs == 0] = 1
    return vectors * signs.astype(vectors.dtype)


def _check_selection(m, selection):
    if m > 1 and selection != "abs":
        raise ValueError(
            f"selection={selection!r} needs a scalar label, but the label has {m} columns "
            "(multi-class or multi-output); use selection='abs'."
        )


_THREADPOOL_CONTROLLER = None


@contextmanager
def serial_blas():
    """Limit BLAS/LAPACK to one thread within a block.

    The eigensolvers (dense ``eigh``, ARPACK, the QR factorisations and
    Rayleigh-Ritz of subspace iteration) run on one thread; the large matrix
    products stay threaded. Threaded OpenBLAS gains little on these
    bandwidth-bound factorisations and loses badly when the cores are shared
    (other processes, GridSearchCV workers), measured here on 2 busy cores:
    ``eigh`` of 1024 x 1024 1.06 s with 2 threads against 0.16 s with one,
    2048 x 2048 7.2 s against 1.1 s, ARPACK (k = 64) 0.94 s against 0.07 s,
    QR of 4096 x 74 20 ms-1.1 s against 7-8 ms.

    Only the main thread sets the limit. BLAS limits are process-wide, and
    OpenBLAS does not reliably give back a limit set and lifted from other
    threads: fits run in the threads of GridSearchCV's threading backend left
    BLAS at one thread for the rest of the process (later fits then differed
    by ~1e-9). In those threads BLAS keeps the user's setting.
    """
    global _THREADPOOL_CONTROLLER
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _THREADPOOL_CONTROLLER is None:
        _THREADPOOL_CONTROLLER = ThreadpoolController()
    with _THREADPOOL_CONTROLLER.limit(limits=1, user_api="blas"):
        yield


def _dense_eigh(M):
    # "evd" (divide and conquer) measured much faster than the default "evr"
    # for full spectra of dense symmetric matrices on this class of machine.
    return linalg.eigh(M, driver="evd", check_finite=False)


def top_directions(T, n_components, *, selection="abs", eig_solver="auto", random_state=None):
    """Top directions of the correlation tensor.

    Parameters
    ----------
    T : ndarray of shape (m, P, P)
        Output of :func:`label_moments`.
    n_components : int
        Number of directions wanted.
    selection : {"abs", "positive", "negative"}
        Ranking for a scalar label; vector labels (m > 1) support only "abs".
    eig_solver : {"auto", "dense", "arpack"}
        Dense LAPACK ``eigh`` or ARPACK Lanczos on the P x P operator.
    random_state : RandomState
        Source of the ARPACK start vector.

    Returns
    -------
    values : ndarray of shape (k,)
        Signed eigenvalues (m = 1) or singular values of the unfolding (m > 1),
        in selection order; ``k <= n_components``.
    vectors : ndarray of shape (P, k)
        Orthonormal directions with canonical signs.
    n_dropped_rank : int
        How many of the requested directions were dropped because the operator
        has lower numerical rank (or too few eigenvalues of the requested sign).
    """
    m, width, _ = T.shape
    _check_selection(m, selection)
    wanted = min(n_components, width)
    use_arpack = eig_solver == "arpack" or (
        eig_solver == "auto" and width >= _ARPACK_MIN_WIDTH and wanted <= _ARPACK_MAX_FRACTION * width
    )
    # ARPACK needs k < P - 1; otherwise (or if it fails) fall back to dense.
    use_arpack = use_arpack and wanted < width - 1
    if m == 1:
        operator = T[0]
    else:
        operator = _squared_unfolding(T)

    values = None
    if use_arpack:
        which = "LA" if (m > 1 or selection == "positive") else ("SA" if selection == "negative" else "LM")
        # A start vector from random_state makes the result reproducible
        # (ARPACK's own default start is drawn from a hidden generator).
        v0 = random_state.uniform(-1.0, 1.0, width).astype(T.dtype)
        try:
            with serial_blas():
                values, vectors = eigsh(operator, k=wanted, which=which, v0=v0)
        except (ArpackNoConvergence, ArpackError):
            values = None  # e.g. many exactly-zero eigenvalues: fall back to dense
    if values is None:
        with serial_blas():
            values, vectors = _dense_eigh(operator)

    if m > 1:
        values = np.sqrt(np.clip(values, 0.0, None))
    return _select(values, vectors, m, wanted, selection, T.dtype)


def _squared_unfolding(T):
    """``sum_c T_c^2`` in float64.

    Squaring doubles the exponent of the rounding error: formed in float32,
    singular values below sqrt(P eps32) ~ 2% of the largest would be noise and
    float32 fits would keep half the directions of float64 ones. In float64,
    one symmetric rank-k update (``T_c^T T_c``) per label column, the error is
    that of ``T`` itself. Extra memory: two P x P float64 arrays.
    """
    m, width, _ = T.shape
    operator = np.zeros((width, width))
    for c in range(m):
        Tc = T[c].astype(np.float64, copy=False)
        operator += Tc.T @ Tc
    return operator


def _select(values, vectors, m, wanted, selection, dtype):
    """Rank, drop numerically-zero directions, keep ``wanted``, fix signs.

    ``values`` are eigenvalues of ``T`` (m = 1) or singular values of the
    unfolding (m > 1).
    """
    rtol = _eigenvalue_rtol(dtype)
    if m > 1:
        selection = "positive"
        # singular values carry T's rounding, plus that of the float64 square
        rtol = max(rtol, np.sqrt(_eigenvalue_rtol(np.float64)))
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    order = _order(values, selection, rtol * scale)
    keep = order[_eligible(values[order], selection, rtol * scale)][:wanted]
    n_dropped = wanted - keep.size
    if keep.size == 0:
        # A zero operator (e.g. constant features): keep one direction so that
        # the representation stays well defined; it carries no label signal.
        keep = order[:1]
    values = values[keep].astype(dtype, copy=False)
    vectors = canonical_signs(np.ascontiguousarray(vectors[:, keep])).astype(dtype, copy=False)
    return values, vectors, n_dropped


def _orthonormal_basis(A):
    with serial_blas():
        return linalg.qr(A, mode="economic", overwrite_a=True, check_finite=False)[0]


def randomized_top_directions(features, Y, sample_weight, n_components, *, selection="abs", random_state,
                              n_oversamples=_N_OVERSAMPLES, n_power_iter=_N_POWER_ITER, n_threads=1):
    """Top directions without forming the P x P operator.

    Block subspace iteration (Halko, Martinsson & Tropp 2011, Alg. 4.4) on the
    matrix-free operator ``V -> Z^T (w y * (Z V)) / sum(w)`` for a scalar
    label, or ``V -> sum_c T_c (T_c V)`` for vector labels, followed by
    Rayleigh-Ritz and the same selection as :func:`top_directions`. Convergence
    depends on ``|lambda_{k+p+1}| / |lambda_k|``, so indefiniteness is harmless.
    Each application is one pass over ``Z`` (two for vector labels) costing
    ``4 n P b`` flops (``4 n P b (m + 1)``), ``b = K + n_oversamples``; ``Z``
    may be a streamed row source. The block targets the largest ``|lambda|``;
    with a one-sided ``selection`` the directions of the other sign in it are
    dropped, so fewer may be kept. ``n_threads`` is the numba thread budget of
    the label weighting (results do not depend on it). A source with an
    ``offset`` is handled as in :func:`label_moments`, at the cost of one
    thin product more in the first pass.

    Returns
    -------
    values, vectors, n_dropped_rank
        As :func:`top_directions`.
    projected : ndarray of shape (n, k)
        ``Z @ vectors``, assembled from the last pass (no extra pass over ``Z``).
    """
    features = as_rows(features)
    width, dtype = features.width, features.dtype
    m = Y.shape[1]
    _check_selection(m, selection)
    row_weights = (sample_weight[:, None] * Y / float(sample_weight.sum())).astype(dtype)
    offset = features.offset
    # For centred rows, T_c V = Zc^T diag(r_c) Zc V + mu (u_c^T V) + u_c (mu^T V)
    # with u as in label_moments; its Zc^T r_c is summed in the first pass.
    offset_terms = {}

    def apply(V, ZV_out=None, first_half_only=False):
        block = V.shape[1]
        first_pass = offset is not None and not offset_terms
        specs = [((width, m * block), dtype)] + ([((width, m), np.float64)] if first_pass else [])
        # [T_1 V, ..., T_m V] and, in the first pass, Zc^T r
        TV, *row_sums = accumulate_blocks(
            features, specs, functools.partial(_add_label_products, V=V, ZV_out=ZV_out, with_row_sums=first_pass),
            row_weights, n_threads=n_threads)
        if offset is not None:
            if first_pass:
                weight_sums = row_weights.sum(axis=0, dtype=np.float64)
                offset_terms["u"] = (row_sums[0].T + 0.5 * weight_sums[:, None] * offset).astype(dtype)
            u = offset_terms["u"]
            blocks_of_TV = TV.reshape(width, m, block)  # a view
            blocks_of_TV += offset[:, None, None] * (u @ V)[None] + u.T[:, :, None] * (offset @ V)[None, None, :]
            if ZV_out is not None:
                ZV_out += offset @ V
        if m == 1 or first_half_only:
            return TV
        (out,) = accumulate_blocks(features, [(V.shape, dtype)],
                                   functools.partial(_add_unfolded_products, TV=TV, block=block),
                                   row_weights, n_threads=n_threads)
        if offset is not None:
            X = TV.reshape(width, m, block)
            out += offset[:, None] * np.einsum("cp,pcb->b", u, X)[None, :] + u.T @ np.einsum("p,pcb->cb", offset, X)
        return out

    wanted = min(n_components, width)
    block = min(width, wanted + n_oversamples)
    Q = _orthonormal_basis(random_state.standard_normal((width, block)).astype(dtype))
    for _ in range(n_power_iter):
        Q = _orthonormal_basis(apply(Q))
    # ZQ is filled by the last pass, but a source of chunks on other machines
    # (``_distributed.DaskRows``) projects lazily instead
    ZQ = None if getattr(features, "distributed", False) else np.empty((features.n_rows, block), dtype=dtype)
    if m == 1:
        B = Q.T @ apply(Q, ZV_out=ZQ)
        with serial_blas():
            values, U = linalg.eigh(0.5 * (B + B.T))
    else:
        # Rayleigh-Ritz on the unfolding without squaring it: the singular
        # values and right singular vectors of Q^T [T_1 ... T_m], whose
        # transpose stacks the blocks T_c Q from the first half of one pass.
        TQ = apply(Q, ZV_out=ZQ, first_half_only=True).reshape(width, m, block)
        with serial_blas():
            _, values, Ut = linalg.svd(TQ.transpose(1, 0, 2).reshape(m * width, block), full_matrices=False)
        U = Ut.T
    values, vectors, n_dropped = _select(values, Q @ U, m, wanted, selection, dtype)
    if ZQ is None:
        return values, vectors, n_dropped, features.project(vectors)
    # vectors lie in span(Q), so Z @ vectors = (Z Q) (Q^T vectors)
    return values, vectors, n_dropped, ZQ @ (Q.T @ vectors)


def warn_reduced(layer_reports, rank_bound="n_samples and the layer width"):
    """One warning per fit listing layers that kept fewer directions than asked."""
    if not layer_reports:
        return
    text = "; ".join(
        f"layer {layer}: kept {kept} of {requested} requested"
        for layer, kept, requested in layer_reports
    )
    warnings.warn(
        f"Fewer directions than n_components were kept ({text}). The label-weighted "
        f"operator has lower numerical rank (at most {rank_bound}), or too "
        "few eigenvalues of the selected sign; the kept counts are in n_components_.",
        UserWarning,
        stacklevel=6,  # user code, through fit and scikit-learn's _fit_context wrapper
    )
