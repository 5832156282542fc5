"""Thread budget of the numba kernels, scoped to one call."""

import contextlib
import os
import threading

import numba

# A process forked after numba's OpenMP or workqueue pool has started cannot use
# that pool: the child hangs or is terminated (GNU OpenMP refuses to run after
# fork). Forked children therefore stay on the serial kernels and never touch
# numba's thread pool.
_forked_child = False


def _after_fork_in_child():
    global _forked_child
    _forked_child = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def effective_n_threads(n_jobs):
    """Number of numba threads for ``n_jobs``, clamped to what numba launched.

    ``None`` keeps numba's current setting (which honours ``NUMBA_NUM_THREADS``
    and the per-worker budget that joblib's loky backend sets); ``-1`` means all
    launched threads; negative values count back from there as in joblib.
    """
    if _forked_child:
        return 1
    launched = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        wanted = numba.get_num_threads()
    elif n_jobs < 0:
        wanted = launched + 1 + n_jobs
    else:
        wanted = n_jobs
    wanted = max(1, min(int(wanted), launched))
    # The workqueue layer aborts the process when two Python threads enter a
    # parallel region at once; off the main thread, stay serial unless the
    # layer is known to be thread-safe.
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

    Yields the effective number of threads. The kernels pick their serial
    variant when it is 1, and then numba's pool is not touched at all.
    """
    n_threads = effective_n_threads(n_jobs)
    if n_threads == 1:
        yield 1
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        yield n_threads
    finally:
        numba.set_num_threads(previous)
