"""
Quick start: Neural LoFi against its lazy baseline on digits
============================================================

Fit a :class:`~sklearn_lofi.NeuralLoFiClassifier` and its unfiltered
counterpart, :class:`~sklearn_lofi.RandomFeatureBaselineClassifier`, on
scikit-learn's hand-written digits, and compare their test accuracies.

Both estimators use the same random lifts, head and leave-one-out ridge
readout; the only difference is that Neural LoFi keeps, in each layer, the
directions of the lifted features that correlate most with the labels.
"""

# %%
# Load and split the data
# -----------------------
from time import perf_counter

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_lofi import NeuralLoFiClassifier, RandomFeatureBaselineClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
print(f"{X_train.shape[0]} training and {X_test.shape[0]} test images, {X.shape[1]} pixels each")

# %%
# Fit both models
# ---------------
# Small widths keep the example fast; the defaults are ``width=1024`` and
# ``head_width=2048``. On digits the two models score within a few test
# images of each other: 64 pixels are few enough for a lazy random network
# to do well. Filtering pays when the label depends on a few hidden
# directions of a high-dimensional input (see the planted target on the
# :ref:`benchmarks` page, and
# :ref:`sphx_glr_auto_examples_plot_emergence.py`).
models = {
    "Neural LoFi": NeuralLoFiClassifier(width=512, head_width=1024, random_state=0),
    "Random-feature baseline": RandomFeatureBaselineClassifier(width=512, head_width=1024, random_state=0),
}
accuracies = {}
for name, model in models.items():
    start = perf_counter()
    model.fit(X_train, y_train)
    seconds = perf_counter() - start
    accuracies[name] = model.score(X_test, y_test)
    print(f"{name:<25} test accuracy {accuracies[name]:.3f}   (fit {seconds:.2f} s)")

# %%
# What Neural LoFi learned
# ------------------------
# With the defaults there is one filtered layer. It kept ``n_components_``
# directions of its 512 random features; their eigenvalues (here singular
# values, since ten classes make a vector label) measure how strongly each
# direction correlates with the labels. The readout's ridge strength was
# chosen by leave-one-out, and ``predict_proba`` calibrates the readout's
# scores on the leave-one-out predictions.
lofi = models["Neural LoFi"]
print("directions kept per layer:", lofi.n_components_.tolist())
print(f"readout alpha chosen by leave-one-out: {lofi.alpha_:.3g}")
print("class probabilities of the first test image:", lofi.predict_proba(X_test[:1]).round(3))

# %%
# Plot the spectrum of the kept directions
# ----------------------------------------
# About ten directions, roughly one per class, stand well above a slowly
# decaying tail: those carry most of the label correlation.
# (The figure needs matplotlib; without it the example stops here.)
try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for layer, values in enumerate(lofi.eigenvalues_, start=1):
        ax.plot(range(1, len(values) + 1), abs(values), marker=".", label=f"layer {layer}")
    ax.set_xlabel("kept direction")
    ax.set_ylabel("|eigenvalue| / singular value")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("Label correlation of the kept directions")
    fig.tight_layout()
    if plt.get_backend().lower() != "agg":
        plt.show()
