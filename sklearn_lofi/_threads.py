"""Thread budget of the numba kernels, scoped to one call."""

import contextlib
import threading

import numba


def effective_n_threads(n_jobs):
    """Number of numba threads for ``n_jobs``, clamped to what numba launched.

    ``None`` keeps numba's current setting (which honours ``NUMBA_NUM_THREADS``
    and the per-worker budget that joblib's loky backend sets); ``-1`` means all
    launched threads; negative values count back from there as in joblib.
    """
    launched = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        wanted = numba.get_num_threads()
    elif n_jobs < 0:
        wanted = launched + 1 + n_jobs
    else:
        wanted = n_jobs
    wanted = max(1, min(int(wanted), launched))
    # The workqueue layer aborts the process when two Python threads enter a
    # parallel region at once; off the main thread, stay serial on that layer.
    if wanted > 1 and threading.current_thread() is not threading.main_thread():
        try:
            layer = numba.threading_layer()
        except ValueError:  # no parallel region has run yet: the layer is unknown
            layer = "unknown"
        if layer not in ("omp", "tbb"):
            wanted = 1
    return wanted


@contextlib.contextmanager
def numba_threads(n_jobs):
    """Set numba's thread mask for the duration of a block, then restore it.

    Yields the effective number of threads.
    """
    n_threads = effective_n_threads(n_jobs)
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        yield n_threads
    finally:
        numba.set_num_threads(previous)
