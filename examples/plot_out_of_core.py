"""
Fitting a dask array out of core
================================

:class:`~sklearn_lofi.NeuralLoFiClassifier` (and the other Neural LoFi
estimators) accept a ``dask.array`` chunked by rows. Every pass of the fit
over the rows (the layer's input scale, its label-weighted moment operator,
the readout's Gram matrix and leave-one-out scores) then runs as one task per
chunk on the Dask workers, and the chunks' partial sums are added in a tree:
only small matrices (width x width) and a few numbers per row reach this
process. The rows themselves, and the much wider lifted features, never do,
so ``X`` may be larger than the memory of any one worker.
``predict`` of a dask array is lazy: it returns a dask array, mapped over the
chunks.

Here a small local cluster fits a synthetic data set that dask draws chunk by
chunk, scores it on a lazy test set, and checks that the result is the model
the in-memory fit gives on the same rows. ``benchmarks/out_of_core.py`` runs
the same on 1.5 GiB of data against workers limited to 512 MiB each.
"""

# %%
# Start a local cluster
# ---------------------
# Two workers of one thread each. ``processes=False`` makes them threads of
# this process, so that the example also runs inside the documentation build:
# worker *processes* (``processes=True``, the default, and what a real
# deployment uses) are started by re-importing the main script, which a script
# must then guard with ``if __name__ == "__main__":``. With worker processes,
# ``memory_limit`` caps each worker's memory, and Dask pauses or restarts a
# worker that goes beyond it.
import resource
import sys
import time

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

from sklearn_lofi import NeuralLoFiClassifier

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
client = Client(cluster)
print(client)

# %%
# A lazy data set
# ---------------
# 100 000 rows of 20 standard Gaussian features, in chunks of 10 000 rows,
# and a label with planted low-degree structure:
# ``y = 1[x0 x1 + 0.5 (x2^2 - 1) > 0]``. Nothing is computed yet: each chunk
# is drawn on a worker when a task needs it (and drawn again for the next
# pass, the same each time).
#
# The chunk size bounds a worker's memory: a task holds one chunk of each
# representation at once, ``X`` (20 numbers per row), the layer's lifted
# features (``width`` numbers, and a copy), the head's features
# (``head_width``, and a copy) and the readout's rotation of them
# (``head_width``, twice): about 1 500 float64 numbers, 12 KiB per row here,
# 120 MiB for a chunk of 10 000 rows. float32 data halve most of it.
n_train, n_test, n_features, chunk_rows = 100_000, 50_000, 20, 10_000


def planted(seed, n_rows):
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), chunks=(chunk_rows, n_features))
    y = (X[:, 0] * X[:, 1] + 0.5 * (X[:, 2] ** 2 - 1) > 0).astype(np.int64)
    return X, y


X_train, y_train = planted(0, n_train)
X_test, y_test = planted(1, n_test)
print(X_train)

# %%
# Fit out of core, predict lazily
# -------------------------------
# ``fit`` takes the dask arrays as they are. ``y`` is small (one number per
# row): it is computed and held by this process, like the leave-one-out
# predictions of the readout.
clf = NeuralLoFiClassifier(width=256, n_components=8, head_width=256, random_state=0)
start = time.perf_counter()
clf.fit(X_train, y_train)
print(f"out-of-core fit: {time.perf_counter() - start:.1f} s")

y_pred = clf.predict(X_test)
print("predict returns", y_pred)
accuracy = (y_pred == y_test).mean().compute()
print(f"test accuracy: {accuracy:.3f}")

# %%
# The same model as in memory
# ---------------------------
# The out-of-core fit runs the in-memory fit's code on each chunk; the two
# differ only in the order in which the chunks' sums are added. Fitted in
# memory on the very same rows, the model's decision values agree to rounding.
# (In float32 the rounding of the readout's Gram matrix is amplified by its
# small ridge penalty: a float32 fit of these data, in memory or not, differs
# from the float64 one by a few thousandths in its decision values.)
X_train_np, y_train_np, X_test_np = dask.compute(X_train, y_train, X_test)
clf_in_memory = NeuralLoFiClassifier(width=256, n_components=8, head_width=256, random_state=0)
clf_in_memory.fit(X_train_np, y_train_np)
difference = np.abs(clf_in_memory.decision_function(X_test_np) - clf.decision_function(X_test).compute())
print(f"max |in-memory - out-of-core| decision value: {difference.max():.2e} "
      f"(decision values range over {np.ptp(clf_in_memory.decision_function(X_test_np)):.1f})")
print("same predicted labels:", np.array_equal(clf_in_memory.predict(X_test_np), y_pred.compute()))


# %%
# Memory of the workers
# ---------------------
# ``client.run`` calls a function in every worker. With worker processes each
# reports its own peak resident memory; here the two workers are threads of
# this process, so they report the same number: the peak of this whole
# process, which also held the in-memory copy of the data for the comparison.
def peak_rss_mib():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


for address, peak in client.run(peak_rss_mib).items():
    print(f"worker {address}: peak resident memory {peak:.0f} MiB")
for address, info in client.scheduler_info()["workers"].items():
    print(f"worker {address}: Dask reports {info['metrics']['memory'] / 2**20:.0f} MiB of process memory, "
          f"memory limit {info['memory_limit'] / 2**30:.1f} GiB")

client.close()
cluster.close()
