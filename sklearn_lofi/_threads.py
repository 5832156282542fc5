"""Thread budget of the numba kernels, scoped to one call."""

import contextlib
import os
import sys
import threading
import time

import numba

# A process forked after numba's OpenMP or workqueue pool has started cannot use
# that pool: the child hangs or is terminated (GNU OpenMP refuses to run after
# fork). Forked children therefore stay on the serial kernels and never touch
# numba's thread pool.
_forked_child = False


def _after_fork_in_child():
    global _forked_child, _budget_lock, _budget_in_use
    _forked_child = True
    # the parent's other threads do not exist here, and one of them may have
    # held the lock at the fork
    _budget_lock = threading.Lock()
    _budget_in_use = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def effective_n_threads(n_jobs):
    """Number of numba threads for ``n_jobs``, clamped to what numba launched.

    ``None`` keeps numba's current setting (which honours ``NUMBA_NUM_THREADS``
    and the per-worker budget that joblib's loky backend sets), within a task
    of a Dask worker at most its share of the host (:func:`dask_worker_share`); ``-1`` means all
    launched threads; negative values count back from there as in joblib.
    """
    if _forked_child:
        return 1
    launched = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        wanted = numba.get_num_threads()
        share = dask_worker_share()
        if share is not None:
            wanted = min(wanted, share)
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


# How long a Dask worker trusts its count of the threads on its host: a fit
# asks the scheduler at most this often (a grid search runs many short fits),
# and an adaptive cluster that grows or shrinks is seen within this delay.
_SHARE_TTL_SECONDS = 30.0
_share_cache = {}


def current_dask_worker():
    """The Dask worker whose task this thread runs, or None (also when distributed was never imported)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        return distributed.get_worker()
    except ValueError:
        return None


def dask_worker_share():
    """numba threads for one task of the Dask worker running this thread, or None elsewhere.

    Dask's nanny starts worker processes with one BLAS/OpenMP thread per
    worker thread (its ``pre-spawn-environ``) but leaves ``NUMBA_NUM_THREADS``
    alone, so every task would start one numba thread per core: two
    single-threaded workers on two cores ran 2 tasks x 2 threads. The share is the
    host's usable cores over the worker threads of all workers on that host
    (from the scheduler), at least 1.
    """
    worker = current_dask_worker()
    if worker is None:
        return None
    distributed = sys.modules["distributed"]
    now = time.monotonic()
    cached = _share_cache.get(worker.address)
    if cached is not None and now - cached[1] < _SHARE_TTL_SECONDS:
        return cached[0]
    host = distributed.comm.get_address_host(worker.address)  # as the scheduler names hosts (IPv6 too)
    try:
        identity = distributed.utils.sync(worker.loop, worker.scheduler.identity)
        threads_on_host = sum(info["nthreads"] for info in identity["workers"].values()
                              if info.get("host") == host)
    except Exception:  # scheduler unreachable: count this worker alone
        threads_on_host = 0
    threads_on_host = max(threads_on_host, worker.state.nthreads)
    share = max(1, _usable_cores() // threads_on_host)
    _share_cache[worker.address] = (share, now)
    return share


def _usable_cores():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# Python threads that run kernels at the same time (joblib's threading backend,
# a GridSearchCV over estimators with n_jobs > 1) share the threads numba
# launched instead of each taking them all: a block gets what is left of
# NUMBA_NUM_THREADS, and at least one thread (its own, serial). The grant only
# changes speed, never results: the kernels do not depend on the thread count.
_budget_lock = threading.Lock()
_budget_in_use = 0
_local = threading.local()


def _grant(wanted):
    global _budget_in_use
    with _budget_lock:
        granted = max(1, min(wanted, numba.config.NUMBA_NUM_THREADS - _budget_in_use))
        _budget_in_use += granted
    return granted


def _release(granted):
    global _budget_in_use
    with _budget_lock:
        _budget_in_use -= granted


@contextlib.contextmanager
def numba_threads(n_jobs):
    """Set numba's thread mask for the duration of a block, then restore it.

    Yields the effective number of threads: ``n_jobs`` clamped by
    :func:`effective_n_threads`, then to what other Python threads inside such
    a block have not taken (a block nested in another one of the same thread
    stays within the outer grant). The kernels pick their serial variant when
    it is 1, and then numba's pool is not touched at all.
    """
    wanted = effective_n_threads(n_jobs)
    outer = getattr(_local, "granted", None)
    if outer is not None:
        n_threads, granted = min(wanted, outer), 0
    else:
        n_threads = granted = _grant(wanted)
    _local.granted = n_threads
    previous = numba.get_num_threads() if n_threads > 1 else None
    try:
        if previous is not None:
            numba.set_num_threads(n_threads)
        yield n_threads
    finally:
        if previous is not None:
            numba.set_num_threads(previous)
        _local.granted = outer
        if granted:
            _release(granted)
