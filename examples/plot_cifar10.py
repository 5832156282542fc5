"""
CIFAR-10 animal versus vehicle: Neural LoFi against its lazy baseline
=====================================================================

The paper's main real-data task, in small: tell vehicles (airplane,
automobile, ship, truck) from animals in 32 x 32 colour images. We load the
small decoded CIFAR-10 subset with :func:`sklearn_lofi.datasets.load_cifar10`
(2000 training and 1000 test images; it needs only NumPy), fit a two-layer
:class:`~sklearn_lofi.NeuralLoFiRegressor` and its unfiltered counterpart,
:class:`~sklearn_lofi.RandomFeatureBaselineRegressor`, on +-1 targets, and
compare their test error (sign of the prediction) and test MSE.

The data files are not part of the package: this example reads the folder
named by the environment variable ``SKLEARN_LOFI_CIFAR10``, or finds the
project's shared data folder (``shared/data/cifar10`` beside the repository),
and prints a message instead of running when neither is there. The full
comparison, with the deep NNGP and more training sizes, is the benchmark
``benchmarks/cifar10.py``.
"""

# %%
# Find and load the data
# ----------------------
# The files are not part of the package. The folder is the environment
# variable ``SKLEARN_LOFI_CIFAR10`` if it is set, else the project's shared
# data folder, looked for above this script and above the current folder.
import os
from pathlib import Path
from time import perf_counter

import numpy as np

from sklearn_lofi.datasets import load_cifar10


def find_cifar10():
    """The CIFAR-10 folder: ``$SKLEARN_LOFI_CIFAR10``, else ``shared/data/cifar10`` above this script or here."""
    if os.environ.get("SKLEARN_LOFI_CIFAR10"):
        return Path(os.environ["SKLEARN_LOFI_CIFAR10"])
    starts = [Path.cwd().resolve()]
    if "__file__" in globals():  # not set when the code is pasted into a console
        starts.insert(0, Path(__file__).resolve().parent)
    for start in starts:
        for folder in (start, *start.parents):
            if (folder / "shared" / "data" / "cifar10" / "cifar10_small_uint8.npz").is_file():
                return folder / "shared" / "data" / "cifar10"
    return None


DATA = find_cifar10()
if DATA is None:
    print("CIFAR-10 files not found: set SKLEARN_LOFI_CIFAR10 to the folder of cifar10_small_uint8.npz "
          "(looked for shared/data/cifar10 above this script and the current folder); skipping this example.")
else:
    train = load_cifar10(DATA, source="npz", animal_vs_vehicle=True)
    test = load_cifar10(DATA, split="test", source="npz", animal_vs_vehicle=True)
    print(f"{len(train.target)} training and {len(test.target)} test images; "
          f"{train.target.mean():.0%} vehicles")

# %%
# A few training images
# ---------------------
try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None

if DATA is not None and plt is not None:
    picks = np.random.RandomState(0).choice(len(train.target), size=8, replace=False)
    fig, axes = plt.subplots(1, 8, figsize=(10, 1.8))
    for ax, row in zip(axes, picks):
        ax.imshow(train.images[row])
        ax.set_title(f"{train.class_names[train.class_target[row]]}\n({train.target_names[train.target[row]]})",
                     fontsize=8)
        ax.axis("off")
    fig.tight_layout()

# %%
# Fit both models
# ---------------
# Pixels are scaled to [0, 1] and standardised per feature on the training
# images; the targets are +-1. Both models share the random lifts (same
# ``random_state``), the head and the leave-one-out ridge readout; Neural
# LoFi keeps, in each of its two layers, the 50 directions of the lifted
# features whose squares correlate most with the label. The widths are
# small to keep the example fast (the benchmark uses 2048 and 4096).
from sklearn.preprocessing import StandardScaler

from sklearn_lofi import NeuralLoFiRegressor, RandomFeatureBaselineRegressor

results = {}
if DATA is not None:
    scaler = StandardScaler().fit(train.data / 255.0)
    X_train, X_test = scaler.transform(train.data / 255.0), scaler.transform(test.data / 255.0)
    y_train, y_test = 2.0 * train.target - 1.0, 2.0 * test.target - 1.0
    models = {
        "Neural LoFi": NeuralLoFiRegressor(n_layers=2, width=1024, n_components=50, head_width=2048,
                                           random_state=0),
        "Random features": RandomFeatureBaselineRegressor(n_layers=2, width=1024, head_width=2048, random_state=0),
    }
    for name, model in models.items():
        start = perf_counter()
        model.fit(X_train, y_train)
        seconds = perf_counter() - start
        scores = model.predict(X_test)
        error = np.mean(np.where(scores >= 0, 1.0, -1.0) != y_test)
        mse = np.mean((scores - y_test) ** 2)
        results[name] = scores
        print(f"{name:<16} test error {error:.1%}   test MSE {mse:.3f}   (fit {seconds:.1f} s)")

# %%
# Scores of the test images
# -------------------------
# The readout's outputs for animals (target -1) and vehicles (+1): the
# better model separates the two histograms more.
if results and plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    bins = np.linspace(-2.5, 2.5, 41)
    for ax, (name, scores) in zip(axes, results.items()):
        for label, colour, text in ((-1, "C1", "animal"), (1, "C0", "vehicle")):
            ax.hist(scores[y_test == label], bins=bins, alpha=0.6, color=colour, label=text)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_title(name)
        ax.set_xlabel("prediction")
    axes[0].set_ylabel("test images")
    axes[0].legend()
    fig.tight_layout()
    plt.show()
