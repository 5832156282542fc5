"""
Signed patch filters against label-free ones
============================================

A :class:`~sklearn_lofi.ConvLoFiTransformer` forms the label-weighted
("signed") operator of the lifted patches of all images, each patch carrying
its image's label, and keeps its top directions: each is a filter in patch
space (``filters_``). Its label-free counterpart (``operator="plain"``) keeps
the top directions of the plain second moment of the same patches: principal
components, which know nothing of the task.
:class:`~sklearn_lofi.inspection.FilterDisplay` shows both, each filter
rescaled on its own so that 0 is mid-grey, titled with its eigenvalue.

As the paper's patch eigenfilters, these use the identity activation (a
linear spectral method on patches); the random lift then only rotates the
patches, and its width should be large against the patch's size: the
filters are those of the patch operator up to a distortion of order
``sqrt(patch values / width)``.
"""

# %%
# Digits: 0-4 against 5-9, 3 x 3 patches
# --------------------------------------
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_lofi import ConvLoFiTransformer
from sklearn_lofi.inspection import FilterDisplay

X, y = load_digits(return_X_y=True)
X, y = X / 16.0, (y >= 5).astype(int)
conv = ConvLoFiTransformer(image_shape=(8, 8, 1), patch_size=3, width=384, n_components=9, activation="identity",
                           random_state=0).fit(X, y)
display = FilterDisplay.from_estimator(conv, X, y)
display.ax_.set_title("digits, 0-4 vs 5-9: signed (top) and label-free (bottom) 3 x 3 filters")
print("signed eigenvalues:    ", np.round(display.eigenvalues, 4).tolist())
print("label-free eigenvalues:", np.round(display.label_free_eigenvalues, 4).tolist())


def best_matches(display):
    """For each signed filter, the label-free filter closest to it and their |cosine|."""
    signed = display.filters.reshape(len(display.filters), -1)
    free = display.label_free_filters.reshape(len(display.label_free_filters), -1)
    cosines = np.abs((signed / np.linalg.norm(signed, axis=1, keepdims=True))
                     @ (free / np.linalg.norm(free, axis=1, keepdims=True)).T)
    return [(int(j) + 1, round(float(cosines[i, j]), 2)) for i, j in enumerate(cosines.argmax(axis=1))]


print("closest label-free filter (1-based) and |cosine| of each signed filter:", best_matches(display))

# %%
# The label-free filters are the familiar principal components of image
# patches, in decreasing order of patch variance: a nearly flat
# mean-intensity filter, the left-right and top-bottom gradients, then finer
# patterns. The signed filters are ranked by how much their square differs
# between the two groups of digits, and both signs count: an eigenvalue below
# zero marks a pattern whose square is larger in 0-4, above zero in 5-9. With
# linear 3 x 3 filters both operators live on the same 9 pixel values, and
# most signed filters are close to one principal component (the printed
# cosines), but in another order: the first is the left-right gradient (the
# edge of a vertical stroke; the second principal component), and the
# mean-intensity filter that leads the label-free row comes only third.

# %%
# CIFAR-10: animal against vehicle, 3 x 3 colour patches
# -------------------------------------------------------
# The small decoded subset shipped with the project's data (2000 training
# images; read with :func:`~sklearn_lofi.datasets.load_cifar10`), if present.
# A random 1000 of them, and patches on a stride of 4 pixels, keep the example
# fast.
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


folder = find_cifar10()
if folder is None:
    print("CIFAR-10 files not found: set SKLEARN_LOFI_CIFAR10 to the folder of cifar10_small_uint8.npz "
          "(looked for shared/data/cifar10 above this script and the current folder); skipping.")
else:
    images, is_vehicle = load_cifar10(folder, source="npz", animal_vs_vehicle=True, n_samples=1000, random_state=0,
                                      return_X_y=True)
    images = images / 255.0
    cifar_conv = ConvLoFiTransformer(image_shape=(32, 32, 3), patch_size=3, stride=4, width=1024, n_components=9,
                                     activation="identity", random_state=0).fit(images, is_vehicle)
    cifar_display = FilterDisplay.from_estimator(cifar_conv, images, is_vehicle)
    cifar_display.ax_.set_title("CIFAR-10, animal vs vehicle: signed (top) and label-free (bottom)")
    print("signed eigenvalues:    ", np.round(cifar_display.eigenvalues, 4).tolist())
    print("label-free eigenvalues:", np.round(cifar_display.label_free_eigenvalues, 4).tolist())
    print("closest label-free filter and |cosine|:", best_matches(cifar_display))

# %%
# The label-free filters are the colour principal components of natural image
# patches: a flat light filter (mean brightness), blue against yellow, a
# top-bottom brightness gradient, and so on. Here the first four signed
# filters are the first four principal components, in the same order (the
# printed cosines): the patterns of largest variance are also those whose
# energy differs most between animal and vehicle images. From the fifth on,
# the signed filters leave the principal components: flat green, red against
# blue edges. With linear filters of 27 pixel values there is little room
# for more; the lift's non-linearity and further layers are where the
# filtered features stop being principal components of the input.

if plt.get_backend().lower() != "agg":
    plt.show()
