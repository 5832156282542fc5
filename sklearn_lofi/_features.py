"""Lifted features, held whole or streamed by row blocks.

A layer's lifted features ``Z = sigma(H W / c) / sqrt(P)`` take ``n * P``
numbers: 6.5 GB for n = 200 000, P = 8192 in float32. The consumers of ``Z``
(the operator, its randomized solver, the projection and the ridge readout)
only ever need sums over rows, so they read ``Z`` as a sequence of row blocks.
When ``Z`` fits scikit-learn's ``working_memory`` (``sklearn.set_config``,
1024 MiB by default) it is computed once and handed out as one block;
otherwise every pass recomputes its blocks from ``H``. Recomputing costs the
lift's ``2 n D P`` flops per pass, which is less than each pass's own products
whenever ``D`` is below the block width they multiply by.

Both classes below expose ``n_rows``, ``width``, ``dtype``, ``streamed``,
``offset`` and ``blocks()``, which yields ``(rows, block)`` pairs with ``rows``
a slice. A source with an ``offset`` (a vector of length ``width``, or None)
hands out its rows minus that offset: the features are ``block + offset``.

Consumers sum over rows through :func:`accumulate_blocks` and lift through
:func:`lifted_rows`, so that a source held in a dask array
(``_distributed.DaskRows``, which has no ``blocks()``) runs the same code as
a map over its chunks on the workers followed by a tree of sums.
"""

import functools
import math

import numpy as np
from sklearn import get_config

from ._kernels import apply_activation_


def lift(H, weights, normalizer, activation, degree, n_threads=1):
    """``sigma(H W / c) / sqrt(P)`` as a new C-contiguous array.

    ``degree`` not None evaluates the Hermite truncation of ``activation``.
    """
    # float(): a NumPy float64 scalar would promote float32 H to float64 (NEP 50)
    inverse = 1.0 / float(normalizer)
    if inverse > float(np.finfo(H.dtype).max):  # a Python comparison: NumPy would cast inverse to float32
        # rows so small (float32 norms below ~3e-39) that 1/c overflows the input's dtype:
        # scale them in float64, the result is back in range
        scaled = (H.astype(np.float64) * inverse).astype(H.dtype)
    else:
        scaled = H * inverse
    pre_activation = np.ascontiguousarray(scaled @ weights)
    scale = 1.0 / math.sqrt(weights.shape[1])
    return apply_activation_(pre_activation, activation, degree, scale, n_threads)


def rows_per_block(n_rows, row_bytes):
    """Rows whose ``row_bytes`` each fit in ``working_memory`` (at least 1)."""
    budget = get_config()["working_memory"] * 2**20
    return int(max(1, min(n_rows, budget // max(row_bytes, 1))))


def row_slices(n_rows, block_rows):
    """Consecutive slices of at most ``block_rows`` rows covering ``n_rows``."""
    return [slice(start, min(start + block_rows, n_rows)) for start in range(0, n_rows, block_rows)]


class ArrayRows:
    """An array already in memory, read by row blocks.

    ``block_rows`` defaults to all rows (one block): slicing costs nothing.
    """

    streamed = False
    offset = None

    def __init__(self, array):
        self.array = array
        self.n_rows, self.width = array.shape
        self.dtype = array.dtype
        self.block_rows = self.n_rows

    def take(self, rows):
        return self.array[rows]

    def blocks(self, block_rows=None):
        for rows in row_slices(self.n_rows, block_rows or self.block_rows):
            yield rows, self.take(rows)

    def project(self, vectors):
        """``Z @ vectors``."""
        return _add_offset(self.array @ vectors, self.offset, vectors)


def accumulate_blocks(source, specs, add, *row_arrays, n_threads=1, combine=None):
    """Sums over the row blocks of ``source``, in accumulators made from ``specs``.

    ``specs`` lists ``(shape, dtype)`` of zero-filled accumulators;
    ``add(accumulators, rows, block, *row_slices, n_threads)`` adds a block's
    share to them in place, ``row_slices`` being ``array[rows]`` of each of
    ``row_arrays`` (labels, weights: one entry per row). A source with its own
    ``accumulate`` (``_distributed.DaskRows``) runs ``add`` once per chunk
    where the chunk lives and merges the chunks' accumulators with
    ``combine`` (default: their sum), which must agree with what ``add`` does
    (a running maximum needs ``np.maximum``).

    Returns
    -------
    accumulators : list of ndarray
    """
    if hasattr(source, "accumulate"):
        return source.accumulate(specs, add, *row_arrays, n_threads=n_threads, combine=combine)
    accumulators = zero_accumulators(specs)
    for rows, block in source.blocks():
        add(accumulators, rows, block, *[array[rows] for array in row_arrays], n_threads)
    return accumulators


def zero_accumulators(specs):
    return [np.zeros(shape, dtype=dtype) for shape, dtype in specs]


def lifted_rows(source, weights, normalizer, activation, degree, n_threads=1, *, centre=False):
    """The lift of ``source`` as a row source of the same kind (:class:`LiftedRows` for local sources)."""
    if hasattr(source, "lifted"):
        return source.lifted(weights, normalizer, activation, degree, n_threads, centre=centre)
    return LiftedRows(source, weights, normalizer, activation, degree, n_threads, centre=centre)


def _add_offset(product, offset, vectors):
    # (Zc + 1 offset^T) V = Zc V + 1 (offset^T V)
    if offset is not None:
        product += offset @ vectors
    return product


def as_rows(features):
    """Wrap a NumPy array as :class:`ArrayRows`, a dask array as ``_distributed.DaskRows``; pass row sources through."""
    if isinstance(features, np.ndarray):
        return ArrayRows(features)
    from ._distributed import DaskRows, is_dask_array  # imports this module

    return DaskRows(features) if is_dask_array(features) else features


class LiftedRows(ArrayRows):
    """The lift of a row source: held whole if it fits ``working_memory``, else recomputed.

    Parameters
    ----------
    source : ArrayRows or LiftedRows
        The layer's input ``H`` (a lazy stack chains lifts without holding any).
    weights : ndarray of shape (D, P)
    normalizer : float
    activation : str
    degree : int or None
    n_threads : int
    centre : bool, default=False
        Hand out the rows minus an ``offset`` close to their mean: the mean
        of all rows when held whole, of the first block when streamed. The
        label-weighted operator is formed from centred rows plus a rank-two
        correction (``_spectral``): lifted features share a large common part
        (every ReLU feature is positive; inputs far from the origin give
        nearly equal rows), and forming ``Z^T diag(r) Z`` from raw rows
        cancels it in rounding, ``eps * (|mean| / |spread|)^2`` relative to
        the label signal. In float32 that error swamped all directions of
        data offset by 1e4 (bug-cases BR-05).
    """

    def __init__(self, source, weights, normalizer, activation, degree, n_threads=1, *, centre=False):
        if source.offset is not None:
            raise ValueError("the rows of a centred source are not the features: lift them uncentred")
        self._source = source
        self._arguments = (weights, normalizer, activation, degree, n_threads)
        self.offset = None
        self.n_rows = source.n_rows
        self.width = weights.shape[1]
        self.dtype = np.result_type(source.dtype, weights.dtype)
        row_bytes = self.width * self.dtype.itemsize
        self.streamed = rows_per_block(self.n_rows, row_bytes) < self.n_rows
        if self.streamed:
            # Up to three blocks' worth is alive at once during a pass: the
            # consumer's block and its temporary of the same size (a weighted
            # or centred copy) are still bound while ``blocks()`` lifts the
            # next block. A quarter of the budget per block keeps a pass
            # within it (with 1/2, the n = 200 000, P = 8192 float32 fit of
            # benchmarks/memory.py peaked at 2.4 GiB under 1 GiB of
            # working_memory).
            self.block_rows = rows_per_block(self.n_rows, 4 * row_bytes)
            self.array = None
            if centre:
                self.offset = _column_mean(self._lift(slice(0, self.block_rows)))
        else:
            self.block_rows = self.n_rows
            if source.streamed:  # fill block by block: the source itself does not fit
                self.array = np.empty((self.n_rows, self.width), dtype=self.dtype)
                for rows, block in source.blocks():
                    self.array[rows] = lift(block, *self._arguments)
            else:
                self.array = self._lift(slice(0, self.n_rows))
            if centre:
                self.offset = _column_mean(self.array)
                self.array -= self.offset

    def _lift(self, rows):
        return lift(self._source.take(rows), *self._arguments)

    def take(self, rows):
        if self.array is not None:
            return self.array[rows]
        block = self._lift(rows)
        if self.offset is not None:
            block -= self.offset
        return block

    def project(self, vectors):
        """``Z @ vectors`` (one pass)."""
        if self.array is not None:
            return super().project(vectors)
        out = np.empty((self.n_rows, vectors.shape[1]), dtype=self.dtype)
        for rows, Z in self.blocks():
            np.matmul(Z, vectors, out=out[rows])
        return _add_offset(out, self.offset, vectors)


def _column_mean(block):
    # accumulated in float64, returned in the block's dtype
    return np.mean(block, axis=0, dtype=np.float64).astype(block.dtype)


def rms_normalizer(features, sample_weight, n_threads=1):
    """Weighted root-mean-square row norm of a row source (1.0 if all zero).

    Squared norms are summed in float64: those of large float32 inputs
    overflow long before the inputs do.
    """
    features = as_rows(features)
    if features.offset is not None:
        raise ValueError("rms_normalizer needs the features themselves, not centred rows")
    (total,) = accumulate_blocks(features, [((), np.float64)], _add_weighted_squared_norms, sample_weight,
                                 n_threads=n_threads)
    c = math.sqrt(float(total) / float(sample_weight.sum()))
    if math.isinf(c) or c < _SMALLEST_EXACT_NORM:
        # squared norms beyond float64 (rows around 1e160 and up), or so small that
        # they are subnormal or zero (rows below about 1e-154): sum them again
        # relative to the largest entry instead of giving up on scaling
        c = _rms_rescaled(features, sample_weight, n_threads)
    if not np.isfinite(c) or c <= np.finfo(np.float64).tiny:
        return 1.0
    return c


# below this RMS norm some squared entries are subnormal in float64 (sqrt(tiny) ~ 1.5e-154)
_SMALLEST_EXACT_NORM = 1e-140


def _add_weighted_squared_norms(accumulators, rows, block, weights, n_threads, scale=None):
    if scale is not None:
        block = block.astype(np.float64) / scale
    # dtype=float64 casts element by element (buffered), without a float64 copy of the block
    accumulators[0][...] += float(weights @ np.einsum("ij,ij->i", block, block, dtype=np.float64))


def _add_largest_magnitude(accumulators, rows, block, weights, n_threads):
    if block.size:
        np.maximum(accumulators[0], float(np.max(np.abs(block))), out=accumulators[0])


def _rms_rescaled(features, sample_weight, n_threads):
    """``rms_normalizer`` summed relative to the largest absolute entry (two more passes)."""
    (scale,) = accumulate_blocks(features, [((), np.float64)], _add_largest_magnitude, sample_weight,
                                 n_threads=n_threads, combine=np.maximum)
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        return scale
    (total,) = accumulate_blocks(features, [((), np.float64)],
                                 functools.partial(_add_weighted_squared_norms, scale=scale), sample_weight,
                                 n_threads=n_threads)
    return scale * math.sqrt(float(total) / float(sample_weight.sum()))


def map_row_blocks(function, X, width):
    """``function`` applied to row blocks of ``X`` sized for ``width`` features per row.

    Prediction replays the whole stack on each block, so rows wider than
    ``working_memory`` allows are never held for all of ``X`` at once.
    """
    n_rows = X.shape[0]
    block_rows = rows_per_block(n_rows, width * X.dtype.itemsize)
    if block_rows >= n_rows:
        return function(X)
    return np.concatenate([function(X[rows]) for rows in row_slices(n_rows, block_rows)])
