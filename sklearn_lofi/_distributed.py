"""Out-of-core fits: the layer stack's row passes as maps over the chunks of a dask array.

Every statistic the fit takes of its rows is a sum over rows: the RMS norm of
a layer's input, the label-weighted moments ``Z^T diag(r) Z`` (or their
products with a block of vectors, for the randomized solver), and the
readout's weighted means, Gram matrix and leave-one-out residuals. A
:class:`DaskRows` source runs each of those passes as one task per row chunk,
on the worker that holds (or reads, or generates) the chunk, and adds the
chunks' partial sums in a binary tree of tasks, so that only the reduced
P x P (or P x b) products reach the client, where the eigensolver runs on
them exactly as in memory. The per-chunk code is the in-memory code
(``_features.accumulate_blocks``); the two paths differ only in where the
blocks come from and in the order of the sums.

A layer's representation is never held: a :class:`DaskRows` is ``X`` and
the chain of lifts and projections of the layers so far, and each task of a
pass reads its chunk of ``X`` and runs the chain itself, as the in-memory
path recomputes row blocks beyond ``working_memory``. The lift weights and
fitted directions enter the task graph once (as ``dask.delayed`` keys), not
once per chunk.

What the client holds: the labels, weights and leave-one-out predictions
(a few numbers per row) and the P x P operator; never a row of ``X`` or of
the lifted features.
"""

import functools
import math
import sys

import numpy as np

from ._features import lift, zero_accumulators
from ._threads import current_dask_worker, numba_threads

_EXTRA_HINT = 'pip install "dask[array]" distributed (the distributed extra of sklearn_lofi)'


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array.Array`` (without importing dask)."""
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(X, dask_array.Array)


def _dask():
    try:
        import dask
    except ImportError as error:  # pragma: no cover - a dask array implies dask
        raise ImportError(f"Fitting dask arrays needs dask: {_EXTRA_HINT}") from error
    return dask


def is_dask_collection(X):
    """Whether ``X`` is any dask collection: an array, a DataFrame, a Series, a bag (without importing dask)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def check_dask_layout(X, owner):
    """The checks a dask ``X`` gets before a fit or a prediction: a dask array, 2-D, numeric.

    A dask DataFrame is refused rather than computed into memory, which is
    what ``np.asarray`` would do.
    """
    if not is_dask_array(X):
        raise TypeError(
            f"{owner} takes a dask array, not a {type(X).__module__.split('.')[0]} {type(X).__name__}: "
            "convert it to a dask array first (a DataFrame or a Series with X.to_dask_array(lengths=True)), "
            "or compute it into memory."
        )
    if X.ndim != 2:
        raise ValueError(f"{owner} expects a 2-D dask array X; got {X.ndim} dimension(s).")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{owner} needs a real-valued numeric dask array X; got dtype {X.dtype}.")


def check_dask_rows(X, owner):
    """Validate a dask array ``X`` for an out-of-core fit; return it row-chunked and float.

    The checks of ``validate_data`` that need no data (dimensions, dtype,
    sizes) run at once; the finite check is one pass over ``X`` on the workers.
    """
    check_dask_layout(X, owner)
    if any(math.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            f"{owner} needs the row chunk sizes of the dask array X, which are unknown (NaN), as after "
            "boolean indexing or from a dask DataFrame; call X.compute_chunk_sizes() first."
        )
    n_samples, n_features = X.shape
    if n_samples < 2:
        raise ValueError(f"Found array with {n_samples} sample(s) (shape={X.shape}) while a minimum of 2 is "
                         f"required by {owner}.")
    if n_features < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required by "
                         f"{owner}.")
    X = as_float_rows(X)
    (finite,) = _compute(_dask().array.isfinite(X).all())
    if not finite:
        raise ValueError(f"Input X contains NaN or infinity; {owner} needs finite values.")
    return X


def as_float_rows(X):
    """``X`` as float32 or float64 (other numbers as float64), in chunks of whole rows."""
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


class DaskRows:
    """A row source held in a dask array chunked by rows (see the module docstring).

    Same reading interface as ``_features.ArrayRows`` but ``blocks()``:
    ``n_rows``, ``width``, ``dtype``, ``offset`` (subtracted from the rows
    handed to :meth:`accumulate` and :meth:`collect`), ``lifted``,
    ``project`` and ``take`` (both lazy), and the two passes.

    The rows are ``source`` chunk by chunk through ``steps``, the lifts and
    projections of the layers so far: every task of a pass reads its chunk of
    ``source`` and runs the steps itself, so that no lifted chunk waits in a
    worker's memory between two tasks.

    Parameters
    ----------
    source : dask.array.Array of shape (n, D)
        ``X``, one chunk across the columns.
    steps : tuple of tuples
        ``(function, *arguments)``: a chunk's rows are
        ``function(rows, n_threads, *arguments)`` applied in order.
    offset : ndarray of shape (width,) or None
    width, dtype : the rows' after the steps (``source``'s without steps)
    """

    streamed = True
    distributed = True

    def __init__(self, source, steps=(), offset=None, *, width=None, dtype=None, shared=None):
        self.source = source
        self.steps = steps
        self.offset = offset
        self.n_rows = source.shape[0]
        self.width = source.shape[1] if width is None else width
        self.dtype = source.dtype if dtype is None else np.dtype(dtype)
        self.block_rows = max(source.chunks[0])
        # what the sources derived from one X share: its chunks as tasks, and the
        # per-row arrays (labels, weights) already sent to the workers
        self._shared = {"row arrays": {}} if shared is None else shared

    def _then(self, step, width, dtype):
        return DaskRows(self.source, self.steps + (step,), width=width, dtype=dtype, shared=self._shared)

    def lifted(self, weights, normalizer, activation, degree, n_threads=1, *, centre=False):
        """The lift, lazily; centred by the mean of the first chunk (as a streamed ``LiftedRows``)."""
        if self.offset is not None:
            raise ValueError("the rows of a centred source are not the features: lift them uncentred")
        dask = _dask()
        # the weights are one key of the graph, sent once to each worker
        step = (_lift_step, dask.delayed(weights, pure=True), normalizer, activation, degree)
        rows = self._then(step, weights.shape[1], np.result_type(self.dtype, weights.dtype))
        if centre:  # averaged on the worker: only the mean comes back
            (mean,) = _compute(dask.delayed(_chunk_mean, pure=True)(self._chunks()[0], rows.steps))
            rows.offset = mean.astype(rows.dtype)
        return rows

    def project(self, vectors):
        """``features @ vectors``, lazily."""
        return self._then((_project_step, _dask().delayed(vectors, pure=True)), vectors.shape[1], self.dtype)

    @property
    def array(self):
        """The rows (without ``offset``) as a lazy dask array with ``source``'s row chunks."""
        dask = _dask()
        pieces = [
            dask.array.from_delayed(dask.delayed(_chunk_rows, pure=True)(chunk, self.steps),
                                    shape=(rows.stop - rows.start, self.width), meta=np.empty((0, 0), self.dtype))
            for rows, chunk in zip(self._row_slices(), self._chunks())
        ]
        return dask.array.concatenate(pieces)

    def take(self, rows):
        return self.array[rows]

    def _chunks(self):
        if "chunks" not in self._shared:
            self._shared["chunks"] = list(self.source.to_delayed().ravel())
        return self._shared["chunks"]

    def _row_slices(self):
        ends = np.cumsum(self.source.chunks[0])
        return [slice(int(end - size), int(end)) for end, size in zip(ends, self.source.chunks[0])]

    def _chunked(self, array):
        """``array`` (one entry per row) cut like the chunks; on a cluster, sent to its workers once per fit.

        Put into every pass's graph instead, the labels and weights of 3 million
        rows made graphs of up to 100 MB ("Sending large graph"), sent through
        the scheduler at each pass.
        """
        sent = self._shared["row arrays"]
        entry = sent.get(id(array))
        if entry is None or entry[0] is not array:  # the array is kept: its id cannot be reused meanwhile
            pieces = [array[rows] for rows in self._row_slices()]
            client = _distributed_client()
            entry = (array, pieces if client is None else client.scatter(pieces))
            sent[id(array)] = entry
        return entry[1]

    def _tasks(self, task, function, row_arrays):
        dask = _dask()
        function = _one_key(function)
        pieces = [self._chunked(array) for array in row_arrays]
        return [
            dask.delayed(task, pure=True)(function, rows, chunk, self.steps, self.offset,
                                          *[piece[index] for piece in pieces])
            for index, (rows, chunk) in enumerate(zip(self._row_slices(), self._chunks()))
        ]

    def accumulate(self, specs, add, *row_arrays, n_threads=1, combine=None):
        """``_features.accumulate_blocks`` with one task per chunk and a tree of ``combine`` tasks.

        ``n_threads`` is ignored: each task takes the numba threads of the
        worker it runs on (``_threads.dask_worker_share``).
        """
        combine = _dask().delayed(_combine_with(np.add if combine is None else combine), pure=True)

        def tree():
            parts = self._tasks(functools.partial(_accumulate_chunk, specs), add, row_arrays)
            while len(parts) > 1:
                parts = [combine(*parts[i:i + 2]) if i + 1 < len(parts) else parts[i]
                         for i in range(0, len(parts), 2)]
            return parts

        (result,) = self._run(tree)
        return result

    def collect(self, function, *row_arrays, n_threads=1):
        """``function(rows, block, *row_slices, n_threads)`` of every chunk, stacked by rows on the client."""
        return np.concatenate(self._run(lambda: self._tasks(_collect_chunk, function, row_arrays)))

    def _run(self, build):
        """``_compute(*build())``, built and run again if the cluster lost what was scattered for it.

        Scattered data have no task to recompute them: a worker that is
        restarted (beyond its memory limit) or removed takes its share of the
        labels and weights with it, and the pass's tasks are cancelled. They
        are scattered anew for the next attempt.
        """
        lost = _lost_data_errors()
        for _ in range(_ATTEMPTS):
            try:
                return _compute(*build())
            except lost as error:
                self._shared["row arrays"].clear()
                last_error = error
        raise RuntimeError(
            f"The Dask cluster lost data of this fit {_ATTEMPTS} times in a row: its workers were restarted or "
            "removed, most often for going beyond their memory limit (see the workers' logs; doc/distributed.rst "
            "says how much memory a worker needs). No model was fitted."
        ) from last_error


# attempts of a pass whose scattered data a lost worker took with it
_ATTEMPTS = 3


def _lost_data_errors():
    client = sys.modules.get("distributed.client")
    if client is None:
        return ()
    return tuple(getattr(client, name) for name in ("FutureCancelledError", "FuturesCancelledError")
                 if hasattr(client, name))


def _compute(*collections):
    """``dask.compute``; inside a task of a Dask worker, in that task itself.

    A fit that joblib's Dask backend sends to a worker (a grid search on a
    dask ``X``) runs its passes in its own task, as a fit under loky does in
    its process: sent to the cluster from there, they held the worker's
    thread while waiting for tasks of their own, and the data they scattered
    were lost to them in about one search in six ("lost dependencies").
    """
    if current_dask_worker() is not None:
        return _dask().compute(*collections, scheduler="sync")
    return _dask().compute(*collections)


def _distributed_client():
    """The ``distributed.Client`` that :func:`_compute` sends tasks to, or None (a local scheduler)."""
    if "distributed" not in sys.modules or current_dask_worker() is not None:
        return None
    from dask.base import get_scheduler

    return getattr(get_scheduler(), "__self__", None)


def _one_key(obj):
    """``obj`` as one key that every task of a pass shares, sent once to each worker that needs it.

    On a distributed cluster it is scattered (sent to a worker directly, and
    between workers from there) rather than put into the graph: the readout's
    passes capture its ``p x p`` rotation, 32 MiB at ``head_width=2048``,
    which the graph would carry through the scheduler ("Sending large graph").
    """
    client = _distributed_client()
    if client is None:
        return _dask().delayed(obj, pure=False)
    return client.scatter(obj, hash=False)


def _lift_step(block, n_threads, weights, normalizer, activation, degree):
    return lift(block, weights, normalizer, activation, degree, n_threads)


def _project_step(block, n_threads, vectors):
    return block @ vectors


def _through(block, steps, n_threads):
    for function, *arguments in steps:
        block = function(block, n_threads, *arguments)
    return block


def _chunk_rows(block, steps):
    with numba_threads(None) as n_threads:
        return _through(block, steps, n_threads)


def _chunk_mean(block, steps):
    return np.mean(_chunk_rows(block, steps), axis=0, dtype=np.float64)


def _through_centred(block, steps, offset, n_threads):
    block = _through(block, steps, n_threads)
    return block if offset is None else block - offset


def _accumulate_chunk(specs, add, rows, block, steps, offset, *row_slices):
    accumulators = zero_accumulators(specs)
    with numba_threads(None) as n_threads:
        add(accumulators, rows, _through_centred(block, steps, offset, n_threads), *row_slices, n_threads)
    return accumulators


def _collect_chunk(function, rows, block, steps, offset, *row_slices):
    with numba_threads(None) as n_threads:
        return function(rows, _through_centred(block, steps, offset, n_threads), *row_slices, n_threads)


class _combine_with:
    """Merge two lists of accumulators with a binary ufunc, into new arrays.

    Not in place: a task may run again after its worker is lost, on inputs
    that must still be as they were.
    """

    def __init__(self, ufunc):
        self.ufunc = ufunc

    def __call__(self, first, second):
        return [self.ufunc(a, b) for a, b in zip(first, second)]


def lazy_rows(method, X, n_columns, dtype):
    """``method`` (an estimator's predict, transform, ...) mapped over the row chunks of ``X``.

    ``n_columns`` None gives a 1-D result. The fitted estimator enters the
    graph once, as a ``dask.delayed`` key.
    """
    X = as_float_rows(X)
    method = _dask().delayed(method, pure=False)
    # meta given: dask would otherwise call the method on an empty block to learn the output type
    if n_columns is None:
        return X.map_blocks(_call_on_chunk, method, drop_axis=1, chunks=(X.chunks[0],), meta=np.empty(0, dtype))
    return X.map_blocks(_call_on_chunk, method, chunks=(X.chunks[0], (n_columns,)), meta=np.empty((0, 0), dtype))


def _call_on_chunk(block, method):
    return method(block)
