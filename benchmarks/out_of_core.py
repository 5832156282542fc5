"""Out-of-core fit: a Neural LoFi fit on a dask array larger than the memory of the cluster's workers.

A ``NeuralLoFiClassifier`` is fitted on a dask array ``X`` chunked by rows,
on a ``dask.distributed.LocalCluster(n_workers=2, threads_per_worker=1,
processes=True, memory_limit=...)`` whose per-worker memory limit (and the
two workers' together) is smaller than ``X``. Each pass of the fit over the
rows (RMS normaliser, label-weighted moment operator, readout Gram matrix,
leave-one-out scores) runs as one task per chunk on the workers, with a tree
of sums; only P x P statistics and a few numbers per row reach the client
(``sklearn_lofi._distributed``).

Data. ``X`` (float32) and ``y`` are written once, block by block, to ``.npy``
files in a temporary folder (deleted at the end; ``--data-dir`` keeps them and
reuses them on the next run) and read back by the workers one chunk at a time
(``NpyRows``: a picklable array-like holding only the file name, which reads
the rows of a chunk with ``np.fromfile``). This is the case a user has, data
on disk larger than memory, and a chunk costs the same to hold whether read or
generated. Two simpler-looking routes are not used:

* ``da.from_array(np.load(path, mmap_mode="r"), chunks=...)`` does not stay out
  of core on a distributed cluster: a ``np.memmap`` is not a plain ndarray, so
  dask puts the memmap object itself in the graph as one key, and pickling a
  memmap copies all of its data. The whole file travels from the client to the
  scheduler and to one worker, which must hold it twice while unpickling it: a
  195 MiB file on 512 MiB workers killed four workers in a row (``KilledWorker``
  on the ``original-array-...`` key) before a single chunk was read.
* generating ``X`` per chunk (``da.random``) never materialises the data at all,
  so every pass regenerates it; a reader could fairly ask whether the data
  "exist". Reading from disk makes the size claim concrete (the file size).

The target is the planted task of ``benchmarks/memory.py`` (so that the test
accuracy shows the out-of-core fit learned something): standard Gaussian
inputs, ``y = 1[x0 x1 + 0.5 (x2^2 - 1) > 0]`` with 10 % of the labels flipped
(Bayes accuracy 0.9). The held-out test set (another seed) is scored lazily:
``predict`` of a dask array returns a dask array mapped over its chunks.

Measured, per phase (out-of-core fit, lazy test scoring, equality checks):
wall time, and for each worker process the peak resident memory, both as
sampled every 10 ms through the API Dask's memory manager uses
(``worker.monitor.get_process_memory()``, the process RSS) and as the kernel's
exact high-water mark ``VmHWM`` (reset with ``/proc/self/clear_refs`` at the
start of each phase; Linux only), beside the largest value the scheduler saw
(``client.scheduler_info()``, polled every 0.25 s, fed by the workers'
heartbeats); the peak of the data Dask itself held (managed memory); whether a
worker was paused (status sampled every 10 ms, and the worker logs), restarted
or killed (worker process ids before and after, nanny logs); and what was
spilled to disk (the spill buffer's cumulative disk-write count and bytes).
Also the client's (this process's, which also runs the scheduler) peak RSS
during the fit, Dask's own warnings (e.g. "Sending large graph"), and, for
scale, the throughput of the same fit in memory on the first
``--reference-rows`` rows (in this process, default ``n_jobs``: both cores).

Equality check: on the first ``--check-rows`` rows (default 20 000), the same
estimator is fitted in memory on the NumPy array and out of core on the dask
array (same chunks), in float32 and in float64, and the maximum absolute
differences of ``decision_function`` and ``predict_proba`` on 20 000 test rows
are reported (the two paths differ only in the order of the sums), with each
float32 model's distance to the float64 one for scale.

Choosing the chunk size. A task reads its chunk of ``X`` and runs the fitted
layers on it itself (no lifted chunk is stored between tasks), so it holds one
chunk of every representation its pass goes through: the chunk of ``X`` (4 D
bytes per row in float32), the lifted features and their centred or weighted
copy (2 x 4 P), the head features and their centred copy (2 x 4 H), the
readout's float64 rotation ``U`` and ``U * U`` (2 x 8 H), and the leave-one-out
per-candidate arrays: about ``4 D + 8 P + 24 H`` bytes per row, 14 KiB at
D = 128, P = 256, H = 512. Measured here, a worker process rests at about 295
MiB once sklearn_lofi, SciPy and numba are imported and the kernels compiled
(221 MiB before its first task), drifting up to 320-370 MiB over a fit (freed
heap that the allocator keeps: ``malloc_trim`` returns it). Dask spills its
managed data when a worker's process memory passes 70 % of its limit, pauses
the worker at 80 % and restarts it at 95 %, so pick
``threads_per_worker x chunk_rows x (4 D + 8 P + 24 H)`` below
``0.7 x memory_limit`` minus that resting memory. At 512 MiB that leaves
little: the default run is near the edge on purpose. On 2026-12-04 it
completed with worker peaks of 363-366 MiB (71 % of the limit), no pause, no
restart, and 90-190 MiB of small results (partial sums waiting for their tree)
spilled and read back; rerun after the last change to the out-of-core code,
with idle workers at 254 MiB, it peaked at 384-385 MiB (75 %), no pause, no
restart, and spilled 1.4-1.8 GiB of partial sums; an earlier version of the fit, which stored each lifted
chunk as a task result of its own, peaked at 395-415 MiB, paused a worker and
spilled 1.1-1.8 GB. 768 MiB workers spill nothing (peaks 419-423 MiB). Smaller chunks cost more
tasks and scheduler time, never accuracy.

Run (X of 1.5 GiB against 2 workers of 512 MiB each; about 3 minutes on 2
cores, of which the fit takes about 2.5)::

    python benchmarks/out_of_core.py --json benchmarks/results/out_of_core.json

The same against 768 MiB workers (no spilling, no pause)::

    python benchmarks/out_of_core.py --memory-limit-mib 768

Small version (seconds; the same code path on a tiny X)::

    python benchmarks/out_of_core.py --quick
"""

import argparse
import contextlib
import json
import logging
import os
import platform
import resource
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
try:
    import sklearn_lofi
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_ROOT))
    import sklearn_lofi

import dask
import dask.array as da
import distributed
import sklearn
from distributed import Client, LocalCluster, WorkerPlugin

from sklearn_lofi import NeuralLoFiClassifier

MiB = 2**20
GiB = 2**30
WRITE_BLOCK_ROWS = 65_536  # the data do not depend on --chunk-rows
PROBE = "out-of-core-memory-probe"

FULL = dict(n_rows=3_145_728, n_test=262_144, n_features=128, chunk_rows=4_096, memory_limit_mib=512,
            width=256, n_components=16, head_width=512, check_rows=20_000, reference_rows=524_288)
QUICK = dict(n_rows=40_000, n_test=8_192, n_features=16, chunk_rows=4_096, memory_limit_mib=1024,
             width=64, n_components=4, head_width=64, check_rows=6_000, reference_rows=40_000)


# -- data on disk, read chunk by chunk ------------------------------------------------------------------------
def planted_block(rows, n_features, seed, block):
    """Rows of the planted task of benchmarks/memory.py, drawn by a generator seeded by (seed, block)."""
    rng = np.random.default_rng([seed, block])
    X = rng.standard_normal((rows, n_features), dtype=np.float32)
    margin = X[:, 0] * X[:, 1] + 0.5 * (X[:, 2] ** 2 - 1.0)
    y = (margin > 0).astype(np.int64)
    flip = rng.uniform(size=rows) < 0.1
    y[flip] = 1 - y[flip]
    return X, y


def _write_header(handle, shape, dtype):
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_2_0(handle, header)


def write_planted(directory, name, n_rows, n_features, seed):
    """``X`` and ``y`` written to ``name_X.npy`` and ``name_y.npy`` block by block (never held whole).

    Plain writes, not a memmap: the pages of a written memmap would count in
    this process's resident memory.
    """
    x_path, y_path = Path(directory) / f"{name}_X.npy", Path(directory) / f"{name}_y.npy"
    if x_path.exists() and y_path.exists():
        X, y = NpyRows(x_path), NpyRows(y_path)
        if X.shape == (n_rows, n_features) and y.shape == (n_rows,):
            return x_path, y_path, False
    with open(x_path, "wb") as x_file, open(y_path, "wb") as y_file:
        _write_header(x_file, (n_rows, n_features), np.float32)
        _write_header(y_file, (n_rows,), np.int64)
        for block, start in enumerate(range(0, n_rows, WRITE_BLOCK_ROWS)):
            X, y = planted_block(min(WRITE_BLOCK_ROWS, n_rows - start), n_features, seed, block)
            x_file.write(X.tobytes())
            y_file.write(y.tobytes())
    return x_path, y_path, True


class NpyRows:
    """A ``.npy`` file as a dask-readable array: pickles as its file name, reads only the rows asked for.

    ``np.fromfile`` reads a contiguous run of rows with one ``read``; other
    keys go through a memmap (unmapped again at once).
    """

    def __init__(self, path):
        self.path = str(path)
        with open(self.path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(handle)
            self.header_bytes = handle.tell()
        if fortran:
            raise ValueError(f"{path}: Fortran-ordered arrays are not read by rows")
        self.shape, self.dtype, self.ndim = tuple(shape), np.dtype(dtype), len(shape)
        self.row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize

    def __dask_tokenize__(self):
        return (type(self).__name__, self.path, os.path.getmtime(self.path), self.shape, str(self.dtype))

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        rows, rest = key[0], key[1:]
        if isinstance(rows, slice) and rows.step in (None, 1):
            start, stop, _ = rows.indices(self.shape[0])
            count = max(stop - start, 0)
            block = np.fromfile(self.path, dtype=self.dtype, count=count * self.row_bytes // self.dtype.itemsize,
                                offset=self.header_bytes + start * self.row_bytes)
            block = block.reshape((count,) + self.shape[1:])
            return block[(slice(None),) + rest] if rest else block
        memmap = np.load(self.path, mmap_mode="r")
        try:
            return np.array(memmap[key])
        finally:
            del memmap


def disk_array(path, chunk_rows):
    rows = NpyRows(path)
    chunks = (chunk_rows,) + tuple(-1 for _ in rows.shape[1:])
    meta = np.empty((0,) * rows.ndim, dtype=rows.dtype)
    # inline_array: the reader (a file name) goes into every chunk's task instead of being a key of its own
    return da.from_array(rows, chunks=chunks, meta=meta, name=f"npy-{Path(path).stem}-{chunk_rows}",
                         inline_array=True)


# -- memory probe on every worker ---------------------------------------------------------------------------
class MemoryProbe(WorkerPlugin):
    """Samples the worker process every ``interval`` seconds; ``reset()`` starts a phase, ``report()`` ends it."""

    name = PROBE

    def __init__(self, interval=0.01):
        self.interval = interval

    def setup(self, worker):
        self.worker = worker
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.reset()
        self._thread = threading.Thread(target=self._run, name=PROBE, daemon=True)
        self._thread.start()

    def teardown(self, worker):
        self._stop.set()

    def _spill_counters(self):
        metrics = getattr(self.worker.data, "cumulative_metrics", {})
        return {"count": metrics.get(("disk-write", "count"), 0.0), "bytes": metrics.get(("disk-write", "bytes"), 0.0)}

    def _managed(self):
        fast = getattr(self.worker.data, "fast", None)
        weight = getattr(fast, "total_weight", None)
        if weight is not None:
            return int(weight)
        try:
            return int(sum(self.worker.state.nbytes.values()))
        except RuntimeError:  # changed size while summing: skip this sample
            return 0

    def reset(self):
        with self._lock:
            self.hwm_reset = _reset_hwm()
            self.peak_rss = self.worker.monitor.get_process_memory()
            self.peak_managed = self._managed()
            self.samples = self.paused_samples = self.pause_events = 0
            self.was_paused = False
            self.spill_start = self._spill_counters()

    def _run(self):
        while not self._stop.wait(self.interval):
            rss = self.worker.monitor.get_process_memory()
            managed = self._managed()
            paused = self.worker.status.name == "paused"
            with self._lock:
                self.samples += 1
                self.peak_rss = max(self.peak_rss, rss)
                self.peak_managed = max(self.peak_managed, managed)
                self.paused_samples += paused
                self.pause_events += paused and not self.was_paused
                self.was_paused = paused

    def report(self):
        with self._lock:
            spill = self._spill_counters()
            manager = self.worker.memory_manager
            return {
                "pid": os.getpid(), "memory_limit": manager.memory_limit,
                "rss_now": self.worker.monitor.get_process_memory(), "peak_rss_sampled": self.peak_rss,
                "vmhwm": _vmhwm_bytes() if self.hwm_reset else None,
                "peak_managed": self.peak_managed, "samples": self.samples,
                "paused_samples": self.paused_samples, "pause_events": self.pause_events,
                "spilled_count": spill["count"] - self.spill_start["count"],
                "spilled_bytes": spill["bytes"] - self.spill_start["bytes"],
                "status": self.worker.status.name,
                "thresholds": {"target": manager.memory_target_fraction, "spill": manager.memory_spill_fraction,
                               "pause": manager.memory_pause_fraction},
            }


def _reset_hwm():
    """Restart the kernel's peak resident memory (VmHWM) of this process from its current RSS (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _vmhwm_bytes():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    return None


def _probe_call(method):
    def call(dask_worker):
        return getattr(dask_worker.plugins[PROBE], method)()
    return call


def worker_pids(client):
    return {address: pid for address, pid in client.run(os.getpid).items()}


class Phase:
    """Resets the probes on entry; on exit records the wall time and every worker's report.

    Meanwhile a thread polls the scheduler's view of the workers' process
    memory (``client.scheduler_info()``, fed by the workers' heartbeats) and
    keeps its maximum per worker.
    """

    def __init__(self, client, name, results, poll=0.25):
        self.client, self.name, self.results, self.poll = client, name, results, poll

    def _watch(self):
        while not self._stop.wait(self.poll):
            self._poll_once()

    def _poll_once(self):
        try:
            workers = self.client.scheduler_info(n_workers=-1)["workers"]
        except Exception:  # the cluster closing or a worker gone
            return
        for address, info in workers.items():
            memory = info.get("metrics", {}).get("memory") or 0
            self.scheduler_peak[address] = max(self.scheduler_peak.get(address, 0), memory)

    def __enter__(self):
        self.client.run(_probe_call("reset"))
        self.client_hwm = _reset_hwm()
        self.scheduler_peak = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        self.start = time.perf_counter()
        return self

    def __exit__(self, kind, error, traceback):
        seconds = time.perf_counter() - self.start
        self._stop.set()
        self._thread.join()
        self._poll_once()  # a phase shorter than a poll still gets one look
        try:
            reports = self.client.run(_probe_call("report"))
        except Exception as exc:  # a worker gone for good
            reports = {"error": repr(exc)}
        for address, report in reports.items():
            if isinstance(report, dict):
                report["scheduler_view_peak"] = self.scheduler_peak.get(address)
        self.results[self.name] = {"seconds": seconds, "workers": reports,
                                   "client_vmhwm": _vmhwm_bytes() if self.client_hwm else None,
                                   "error": None if error is None else repr(error)}
        return False


def _disk_bytes(spilled):
    """The scheduler reports spilled bytes as {"memory": ..., "disk": ...} (or a number in older versions)."""
    if isinstance(spilled, dict):
        return spilled.get("disk", 0) or 0
    return spilled or 0


def client_peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def describe(phase):
    """One line per worker: peak RSS (sampled / kernel), peak managed, pauses, spills."""
    lines = []
    workers = phase["workers"]
    if "error" in workers:
        return [f"    workers unreachable: {workers['error']}"]
    for address, report in sorted(workers.items()):
        limit = report["memory_limit"]
        hwm = "n/a" if report["vmhwm"] is None else f"{report['vmhwm'] / MiB:.0f} MiB"
        lines.append(
            f"    worker pid {report['pid']}: peak RSS {report['peak_rss_sampled'] / MiB:.0f} MiB sampled, "
            f"{hwm} kernel VmHWM ({report['peak_rss_sampled'] / limit:.0%} of its {limit / MiB:.0f} MiB limit), "
            f"{(report['scheduler_view_peak'] or 0) / MiB:.0f} MiB in the scheduler's view; "
            f"peak managed {report['peak_managed'] / MiB:.1f} MiB; paused {report['pause_events']} time(s) "
            f"({report['paused_samples']} of {report['samples']} samples); spilled {report['spilled_count']:.0f} "
            f"key(s), {report['spilled_bytes'] / MiB:.1f} MiB")
    return lines


def make_model(args, random_state=0):
    return NeuralLoFiClassifier(n_layers=1, width=args.width, n_components=args.n_components,
                                head_width=args.head_width, random_state=random_state)


def equality_check(x_path, y_path, xt_path, args, dtype):
    """In-memory against out-of-core fit on the first check_rows rows: both models' test predictions."""
    rows = slice(0, args.check_rows)
    test_rows = slice(0, min(20_000, NpyRows(xt_path).shape[0]))
    X_test = NpyRows(xt_path)[test_rows].astype(dtype)
    in_memory = make_model(args).fit(NpyRows(x_path)[rows].astype(dtype), NpyRows(y_path)[rows])
    X_dask = disk_array(x_path, args.chunk_rows)[rows].astype(dtype)
    out_of_core = make_model(args).fit(X_dask, disk_array(y_path, args.chunk_rows)[rows])
    X_test_dask = disk_array(xt_path, args.chunk_rows)[test_rows].astype(dtype)
    predictions = {
        "in_memory": {"decision": in_memory.decision_function(X_test), "proba": in_memory.predict_proba(X_test),
                      "labels": in_memory.predict(X_test)},
        "out_of_core": {"decision": out_of_core.decision_function(X_test_dask).compute(),
                        "proba": out_of_core.predict_proba(X_test_dask).compute(),
                        "labels": out_of_core.predict(X_test_dask).compute()},
    }
    return {"dtype": np.dtype(dtype).name, "rows": args.check_rows, "chunks": len(X_dask.chunks[0]),
            "test_rows": X_test.shape[0], "alpha": [in_memory.alpha_, out_of_core.alpha_]}, predictions


def compare(first, second):
    return {"max_abs_diff_decision_function": float(np.abs(first["decision"] - second["decision"]).max()),
            "max_abs_diff_predict_proba": float(np.abs(first["proba"] - second["proba"]).max()),
            "same_predicted_labels": float(np.mean(first["labels"] == second["labels"]))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", "--small", dest="quick", action="store_true",
                        help="40 000 x 16 rows, tiny widths, 1 GiB workers: the same code path in seconds")
    parser.add_argument("--n-rows", type=int, help=f"training rows (default {FULL['n_rows']})")
    parser.add_argument("--n-test", type=int, help=f"test rows (default {FULL['n_test']})")
    parser.add_argument("--n-features", type=int, help=f"D (default {FULL['n_features']})")
    parser.add_argument("--chunk-rows", type=int, help=f"rows per dask chunk (default {FULL['chunk_rows']})")
    parser.add_argument("--memory-limit-mib", type=int,
                        help=f"memory limit of each worker in MiB (default {FULL['memory_limit_mib']})")
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--width", type=int)
    parser.add_argument("--n-components", type=int)
    parser.add_argument("--head-width", type=int)
    parser.add_argument("--check-rows", type=int, help="rows of the in-memory / out-of-core equality check")
    parser.add_argument("--reference-rows", type=int,
                        help="rows of the in-memory fit timed for comparison (in this process, n_jobs=None)")
    parser.add_argument("--data-dir", help="keep the .npy files here (reused when present); default: a temp dir")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    total_start = time.perf_counter()
    load_before = os.getloadavg()

    print(f"sklearn_lofi {sklearn_lofi.__version__}, scikit-learn {sklearn.__version__}, dask {dask.__version__}, "
          f"distributed {distributed.__version__}, numpy {np.__version__}, Python {platform.python_version()}; "
          f"{len(os.sched_getaffinity(0))} usable cores; load average before: "
          f"{' '.join(f'{v:.2f}' for v in load_before)}", flush=True)

    results = {"settings": {key: getattr(args, key) for key in
                            ("quick", "n_rows", "n_test", "n_features", "chunk_rows", "memory_limit_mib",
                             "n_workers", "width", "n_components", "head_width", "check_rows", "reference_rows")},
               "model": repr(make_model(args)), "load_average_before": list(load_before), "phases": {}}
    with contextlib.ExitStack() as stack:
        # warnings (distributed's "Sending large graph", ...) are part of the findings: recorded, summed up at the end
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        # a LocalCluster's scheduler serves HTTP routes even with its dashboard off; ":0" takes a free port
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        directory = args.data_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="lofi-ooc-"))
        os.makedirs(directory, exist_ok=True)
        start = time.perf_counter()
        x_path, y_path, wrote_train = write_planted(directory, "train", args.n_rows, args.n_features, seed=0)
        xt_path, yt_path, wrote_test = write_planted(directory, "test", args.n_test, args.n_features, seed=1)
        write_seconds = time.perf_counter() - start
        x_bytes = os.path.getsize(x_path) - NpyRows(x_path).header_bytes
        limit = args.memory_limit_mib * MiB
        chunk_bytes = args.chunk_rows * args.n_features * 4
        task_bytes = args.chunk_rows * (4 * args.n_features + 8 * args.width + 24 * args.head_width)
        print(f"X: {args.n_rows} x {args.n_features} float32 = {x_bytes / GiB:.2f} GiB on disk "
              f"({'written' if wrote_train or wrote_test else 'reused'} in {write_seconds:.1f} s, {directory}); "
              f"= {x_bytes / limit:.1f} x one worker's memory limit ({args.memory_limit_mib} MiB), "
              f"{x_bytes / (limit * args.n_workers):.1f} x the {args.n_workers} workers' together")
        print(f"chunks: {args.chunk_rows} rows ({-(-args.n_rows // args.chunk_rows)} chunks) = {chunk_bytes / MiB:.1f} "
              f"MiB of X each; a task's working memory, estimated as chunk_rows x (4 D + 8 P + 24 H) bytes: "
              f"{task_bytes / MiB:.0f} MiB")
        print(f"model: {make_model(args)}", flush=True)
        results.update(x_bytes=x_bytes, x_over_worker_limit=x_bytes / limit, write_seconds=write_seconds,
                       data_written=bool(wrote_train or wrote_test))

        start = time.perf_counter()
        cluster = stack.enter_context(LocalCluster(
            n_workers=args.n_workers, threads_per_worker=1, processes=True, memory_limit=limit,
            dashboard_address=":0", host="127.0.0.1", silence_logs=logging.WARNING))
        client = stack.enter_context(Client(cluster))
        client.wait_for_workers(args.n_workers)
        client.register_plugin(MemoryProbe())
        results["cluster_start_seconds"] = time.perf_counter() - start
        pids_before = worker_pids(client)
        idle = client.run(lambda dask_worker: dask_worker.monitor.get_process_memory())
        results["idle_worker_rss"] = idle
        print(f"LocalCluster: {args.n_workers} worker processes x 1 thread, memory_limit {args.memory_limit_mib} MiB "
              f"each, started in {results['cluster_start_seconds']:.1f} s; idle worker RSS "
              + ", ".join(f"{v / MiB:.0f} MiB" for v in idle.values()), flush=True)

        X = disk_array(x_path, args.chunk_rows)
        y = disk_array(y_path, args.chunk_rows)
        model = make_model(args)
        phases = results["phases"]
        fit_error = None
        try:
            with Phase(client, "fit", phases):
                model.fit(X, y)
        except Exception as exc:  # a worker killed too often (KilledWorker), ...: the finding itself
            fit_error = exc
        fit = phases["fit"]
        scheduler_view = {address: {key: info.get(key) for key in ("memory_limit", "nthreads")}
                          | {"memory": info.get("metrics", {}).get("memory"),
                             "managed_bytes": info.get("metrics", {}).get("managed_bytes"),
                             "spilled_bytes": info.get("metrics", {}).get("spilled_bytes")}
                          for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}
        fit["scheduler_view_after"] = scheduler_view
        print(f"\nout-of-core fit: {'FAILED: ' + repr(fit_error) if fit_error else 'done'} in {fit['seconds']:.1f} s"
              + ("" if fit_error else f" (eig solver {model._fit_eig_solvers})"))
        print("\n".join(describe(fit)))
        print("  scheduler's view after the fit: " + "; ".join(
            f"worker {address.rsplit(':', 1)[-1]}: memory limit {view['memory_limit'] / MiB:.0f} MiB, process memory "
            f"{(view['memory'] or 0) / MiB:.0f} MiB, managed {(view['managed_bytes'] or 0) / MiB:.1f} MiB, spilled "
            f"{_disk_bytes(view['spilled_bytes']) / MiB:.1f} MiB" for address, view in scheduler_view.items()),
            flush=True)

        if fit_error is None:
            X_test, y_test = disk_array(xt_path, args.chunk_rows), disk_array(yt_path, args.chunk_rows)
            with Phase(client, "predict", phases):
                predicted = model.predict(X_test)
                lazy = f"{type(predicted).__module__}.{type(predicted).__name__}"
                accuracy = float((predicted == y_test).mean().compute())
            predict = phases["predict"]
            predict.update(test_accuracy=accuracy, predict_returns=lazy, n_test=args.n_test)
            print(f"\ntest set: {args.n_test} rows; predict returned a {lazy} ({predicted.npartitions} chunks); "
                  f"accuracy {accuracy:.4f} (Bayes 0.9, chance 0.5), computed in {predict['seconds']:.1f} s")
            print("\n".join(describe(predict)), flush=True)

            checks, predictions = [], {}
            with Phase(client, "equality_check", phases):
                for dtype in (np.float32, np.float64):
                    check, predictions[np.dtype(dtype).name] = equality_check(x_path, y_path, xt_path, args, dtype)
                    check.update(compare(*predictions[check["dtype"]].values()))
                    checks.append(check)
            # float32 rounding in context: each float32 model against the float64 in-memory one
            reference = predictions["float64"]["in_memory"]
            float32_vs_float64 = {way: compare(predictions["float32"][way], reference)
                                  for way in ("in_memory", "out_of_core")}
            phases["equality_check"].update(checks=checks, float32_vs_float64_in_memory=float32_vs_float64)
            print(f"\nin memory vs out of core on the first {args.check_rows} rows ({checks[0]['chunks']} chunks), "
                  f"predictions on {checks[0]['test_rows']} test rows:")
            for check in checks:
                print(f"  {check['dtype']}: max |diff| decision_function "
                      f"{check['max_abs_diff_decision_function']:.3g}, predict_proba "
                      f"{check['max_abs_diff_predict_proba']:.3g}; same labels {check['same_predicted_labels']:.4%}")
            print("  for scale, float32 against the float64 in-memory fit: "
                  + "; ".join(f"{way.replace('_', '-')} max |diff| decision_function "
                              f"{diff['max_abs_diff_decision_function']:.3g}"
                              for way, diff in float32_vs_float64.items()))
            print("\n".join(describe(phases["equality_check"])), flush=True)

            reference_rows = min(args.reference_rows, args.n_rows)
            X_mem, y_mem = NpyRows(x_path)[:reference_rows], NpyRows(y_path)[:reference_rows]
            start = time.perf_counter()
            make_model(args).fit(X_mem, y_mem)
            seconds = time.perf_counter() - start
            del X_mem, y_mem
            results["in_memory_reference"] = {"rows": reference_rows, "seconds": seconds,
                                              "rows_per_second": reference_rows / seconds}
            fit["rows_per_second"] = args.n_rows / fit["seconds"]
            print(f"\nthroughput: out-of-core fit {fit['rows_per_second']:,.0f} rows/s "
                  f"({args.n_workers} worker processes x 1 thread); "
                  f"in-memory fit of the first {reference_rows} rows in this process (n_jobs=None) {seconds:.1f} s = "
                  f"{reference_rows / seconds:,.0f} rows/s", flush=True)

        pids_after = worker_pids(client)
        nanny_logs = client.get_worker_logs(nanny=True)
        worker_logs = client.get_worker_logs()
        restarts = [line for logs in nanny_logs.values() for _, line in logs
                    if any(word in line for word in ("Restarting", "exceeded", "died", "Worker process"))]
        pauses_logged = [line for logs in worker_logs.values() for _, line in logs if "Pausing worker" in line]
        restarted = sorted(set(pids_before.values()) - set(pids_after.values()))
        results.update(worker_pids_before=pids_before, worker_pids_after=pids_after,
                       restarted_or_killed_pids=restarted, nanny_log_restart_lines=restarts,
                       pause_log_lines=pauses_logged)

    total = time.perf_counter() - total_start
    load_after = os.getloadavg()
    results.update(fit_error=None if fit_error is None else repr(fit_error), total_seconds=total,
                   client_peak_rss=client_peak_rss(), load_average_after=list(load_after),
                   versions={"sklearn_lofi": sklearn_lofi.__version__, "scikit-learn": sklearn.__version__,
                             "dask": dask.__version__, "distributed": distributed.__version__,
                             "numpy": np.__version__, "python": platform.python_version()},
                   machine=f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores")
    peaks = [report["peak_rss_sampled"] for phase in results["phases"].values()
             for report in phase["workers"].values() if isinstance(report, dict)]
    print(f"\nworker processes restarted or killed: {len(restarted)}"
          + (f" (pids {restarted}; nanny: {restarts[:3]})" if restarted or restarts else "")
          + f"; 'Pausing worker' log lines: {len(pauses_logged)}")
    print(f"highest worker peak RSS over all phases: {max(peaks) / MiB:.0f} MiB of {args.memory_limit_mib} MiB; "
          f"X is {x_bytes / GiB:.2f} GiB = {x_bytes / limit:.1f} x one worker's limit")
    print(f"client (this process, which also runs the scheduler) peak RSS: during the out-of-core fit "
          f"{(results['phases']['fit'].get('client_vmhwm') or 0) / MiB:.0f} MiB, over the whole run "
          f"{results['client_peak_rss'] / MiB:.0f} MiB")
    summary = {}
    for warning in caught:
        text = str(warning.message).splitlines()[0]
        key = f"{warning.category.__name__}: " + (text.split(" of size ")[0] if "Sending large graph" in text else text)
        summary.setdefault(key, []).append(text)
    results["warnings"] = {key: texts for key, texts in summary.items()}
    for key, texts in summary.items():
        sizes = [text.split(" of size ")[1].rstrip(".") for text in texts if " of size " in text]
        print(f"warning x {len(texts)}: {key}" + (f" (sizes: {', '.join(sizes)})" if sizes else ""))
    print(f"load average after: {' '.join(f'{v:.2f}' for v in load_after)}; total run time {total:.1f} s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2, default=str)
    if fit_error is not None:
        raise SystemExit(1)
    return results


if __name__ == "__main__":
    main()
