"""Displays of what a fitted Neural LoFi model learned.

Two displays in the style of scikit-learn's ``*Display`` classes (compare
:class:`sklearn.inspection.DecisionBoundaryDisplay`): a class that holds the
computed values, a ``plot`` method that draws them and returns the display
with its ``figure_``, ``ax_`` and artists, and a ``from_estimator``
classmethod that computes and plots in one call.

- :class:`SpectrumDisplay`: the whole spectrum of a layer's label-weighted
  operator on data ``(X, y)``, with the directions the layer keeps and the
  spectrum of the same layer under randomly permuted labels (the noise bulk a
  real signal must leave).
- :class:`FilterDisplay`: the top directions of a convolutional model in patch
  space, shown as images, against its label-free (plain covariance, PCA)
  counterpart.

Plotting needs matplotlib, an optional dependency: ``pip install
"sklearn-lofi[plot]"``. Computing the values does not, but ``from_estimator``
checks for it first, as scikit-learn's displays do.
"""

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import check_consistent_length
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from ._base import FLOAT_DTYPES, check_weights, encode_classes, new_random_state, operator_labels
from ._layer_spectra import kept_indices, layer_input, layer_spectra, lifted_rows
from ._lofi import LoFiTransformer, NeuralLoFiClassifier, NeuralLoFiRegressor
from ._threads import numba_threads

__all__ = ["FilterDisplay", "SpectrumDisplay"]

_INSTALL_HINT = 'pip install "sklearn-lofi[plot]"'


def _check_matplotlib(caller):
    """Raise an ImportError naming the ``plot`` extra if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, an optional dependency of sklearn-lofi. "
            f"Install it with: {_INSTALL_HINT}"
        ) from exc


def _new_axes(n_axes, width, height):
    import matplotlib.pyplot as plt

    # constrained layout keeps the axis labels inside the figure when it is saved as it is
    fig, axes = plt.subplots(1, n_axes, figsize=(width * n_axes, height), squeeze=False, layout="constrained")
    return fig, axes[0]


def _check_spectrum_kind(kind):
    if kind not in ("sorted", "hist"):
        raise ValueError(f"kind must be 'sorted' or 'hist'; got {kind!r}.")


def _check_filter_layout(n_cols, scaling):
    if scaling not in ("symmetric", "minmax"):
        raise ValueError(f"scaling must be 'symmetric' or 'minmax'; got {scaling!r}.")
    if n_cols is not None and not (isinstance(n_cols, (int, np.integer)) and not isinstance(n_cols, bool)
                                   and n_cols >= 1):
        raise ValueError(f"n_cols must be a positive int or None; got {n_cols!r}.")


def _as_axes(ax, n_axes, caller):
    """One Axes per panel from the user's ``ax`` (an Axes, or a sequence of them)."""
    axes = np.ravel(np.asarray(ax, dtype=object))
    if axes.size != n_axes:
        raise ValueError(f"{caller} draws {n_axes} panel(s) but got {axes.size} Axes in ax.")
    return axes


# -- SpectrumDisplay ------------------------------------------------------------------------------

_SPECTRUM_ESTIMATORS = (LoFiTransformer, NeuralLoFiClassifier, NeuralLoFiRegressor)


def _final_step(estimator, X, caller, accepted, accepted_names):
    """The model to inspect and ``X`` transformed by the pipeline steps before it."""
    model = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if not isinstance(model, accepted):
        kind, hint = "", ""
        if isinstance(estimator, Pipeline):
            kind = "a Pipeline ending in "
            hint = " To inspect an earlier step, pass the pipeline up to it (pipeline[:k + 1])."
        raise TypeError(
            f"{caller} needs a fitted {accepted_names} (or a Pipeline ending in one); got "
            f"{kind}{type(model).__name__}.{hint}"
        )
    check_is_fitted(model)
    if isinstance(estimator, Pipeline) and len(estimator) > 1:
        X = estimator[:-1].transform(X)
    return model, X


def _check_labels(model, y, caller):
    """``y`` validated for the coding ``model`` used in fit.

    Targets (``classes_`` is None) come back as a float64 matrix, one column
    per output; class labels as they are, after checking that ``model`` was
    fitted on them (they are coded by :func:`_code_classes`).
    """
    classes = getattr(model, "classes_", None)
    if classes is None:
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        return y.reshape(len(y), -1).astype(np.float64)
    y = column_or_1d(y, warn=True)
    unknown = ~np.isin(y, classes)
    if unknown.any():
        raise ValueError(
            f"{caller}: y contains labels the estimator was not fitted on: "
            f"{np.unique(y[unknown])[:5].tolist()}; its classes are {classes.tolist()}."
        )
    return y


def _code_classes(y, classes, sample_weight, caller):
    """Class labels coded as in fit (+-1 for two classes, else one-hot), against the fitted ``classes``.

    Classes absent from ``y`` get all-zero columns, so the coding (and the
    operator's shape) is that of the fit.
    """
    present, _, one_hot = encode_classes(y, sample_weight, caller)
    coded = np.zeros((len(y), classes.size))
    coded[:, np.searchsorted(classes, present)] = one_hot
    return 2.0 * coded[:, 1:] - 1.0 if classes.size == 2 else coded


def _check_layers(layer, n_layers):
    if isinstance(layer, str):
        if layer != "all":
            raise ValueError(f"layer must be an int, a list of ints or 'all'; got {layer!r}.")
        return list(range(n_layers))
    layers = [layer] if np.ndim(layer) == 0 else list(layer)
    if not layers:
        raise ValueError("layer is empty: give at least one layer index, or 'all'.")
    for value in layers:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"layer indices must be ints; got {value!r}.")
        if not 0 <= value < n_layers:
            raise ValueError(
                f"layer={value} is out of range: the estimator has {n_layers} filtered layer(s), "
                f"valid indices are 0 to {n_layers - 1} (or 'all')."
            )
    return [int(value) for value in layers]


class SpectrumDisplay:
    """Spectrum of layers' label-weighted operators against their null (shuffled-label) bulk.

    A filtered layer keeps the directions of its lifted features whose
    eigenvalue (label correlation) is largest in magnitude. Whether those
    directions carry signal shows in the whole spectrum: the eigenvalues of
    labels independent of the inputs form a bulk, and a learnable feature
    appears as an outlier that leaves it once there are enough samples.

    Use :meth:`from_estimator` to compute the values from a fitted
    estimator; the constructor only stores them.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    eigenvalues : list of ndarray
        One array per layer, of shape (width,): the layer's whole spectrum
        in descending order. Signed eigenvalues of ``C`` for a scalar label;
        for a vector label (more than two classes, several targets) the
        singular values of the unfolding ``[T_1 ... T_m]``, i.e. the square
        roots of the eigenvalues of ``sum_c T_c^2`` (non-negative).
    null_eigenvalues : list of ndarray
        One array per layer, of shape (n_shuffles, width): the spectrum under
        each random permutation of the labels, each row descending.
    kept : list of ndarray
        One integer array per layer: indices into ``eigenvalues[l]`` of the
        directions the layer's rule keeps (its ``n_components_[l]`` largest
        by the estimator's ``selection``), in selection order. On the
        training data these are the fitted directions; on other data, the
        directions the same rule would keep there.
    layers : list of int
        Indices (0-based, as in ``random_weights_``) of the layers shown.
    vector_label : bool, default=False
        Whether the spectra are singular values of a vector label's unfolding.
    estimator_name : str, default=None
        Name of the estimator, used in the title.

    Attributes
    ----------
    eigenvalues : list of ndarray
        As the parameter.
    null_eigenvalues : list of ndarray
        As the parameter.
    kept : list of ndarray
        As the parameter.
    layers : list of int
        As the parameter.
    vector_label : bool
        As the parameter.
    estimator_name : str or None
        As the parameter.
    figure_ : matplotlib Figure
        Figure of the plot (after :meth:`plot`).
    ax_ : matplotlib Axes or ndarray of Axes
        The Axes of the plot when one layer is shown, else an array of one
        Axes per layer.
    axes_ : ndarray of matplotlib Axes
        One Axes per layer, always an array.
    spectrum_artists_ : list
        Per layer, the artists of the true-label spectrum: for
        ``kind="sorted"`` a list of ``Line2D`` (one per end of the spectrum),
        for ``kind="hist"`` the histogram's patches.
    null_artists_ : list
        Per layer, the artists of the null spectrum (a list of
        ``PolyCollection`` bands, or histogram patches), or None when there
        are no shuffles.
    kept_artists_ : list
        Per layer, the ``PathCollection`` marking the kept directions.

    See Also
    --------
    FilterDisplay : Top directions of a convolutional model as images.
    sklearn.inspection.DecisionBoundaryDisplay : The display pattern followed here.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lofi.inspection import SpectrumDisplay
    >>> rng = np.random.RandomState(0)
    >>> values = np.sort(rng.standard_normal(50))[::-1]
    >>> null = np.sort(rng.standard_normal((3, 50)), axis=1)[:, ::-1]
    >>> display = SpectrumDisplay([values], [null], [np.array([0, 49])], [0])
    >>> display.plot()
    <...SpectrumDisplay object at ...>
    >>> display.ax_.get_ylabel()
    'eigenvalue'
    """

    def __init__(self, eigenvalues, null_eigenvalues, kept, layers, *, vector_label=False, estimator_name=None):
        self.eigenvalues = eigenvalues
        self.null_eigenvalues = null_eigenvalues
        self.kept = kept
        self.layers = layers
        self.vector_label = vector_label
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, kind="sorted", line_kw=None, null_kw=None, kept_kw=None):
        """Plot the spectra.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per layer shown. If None, a new figure with one panel per
            layer is created.
        kind : {"sorted", "hist"}, default="sorted"
            ``"sorted"``: the eigenvalues against their rank on a log axis, the
            kept directions as markers and the null spectra as a band between
            their smallest and largest value at each rank. Signed spectra are
            drawn from both ends: the upper half of the eigenvalues against
            their rank from the largest, the lower half against their rank
            from the most negative, so outliers of either sign are at the left. ``"hist"``:
            histograms (densities, log scale) of the true-label spectrum and of
            the pooled null spectra, the kept eigenvalues as ticks on the
            bottom edge.
        line_kw : dict, default=None
            Keyword arguments of the true-label spectrum (``Axes.plot`` or
            ``Axes.hist``).
        null_kw : dict, default=None
            Keyword arguments of the null spectrum (``Axes.fill_between`` or
            ``Axes.hist``).
        kept_kw : dict, default=None
            Keyword arguments of the kept-direction markers (``Axes.scatter``).

        Returns
        -------
        display : SpectrumDisplay
            The display, with ``figure_``, ``ax_``, ``axes_`` and the artists.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        _check_spectrum_kind(kind)
        n_panels = len(self.layers)
        if ax is None:
            fig, axes = _new_axes(n_panels, 4.8, 3.6)
        else:
            axes = _as_axes(ax, n_panels, type(self).__name__)
            fig = axes[0].figure
        ylabel = "singular value" if self.vector_label else "eigenvalue"
        self.spectrum_artists_, self.null_artists_, self.kept_artists_ = [], [], []
        for axis, layer, values, null, kept in zip(axes, self.layers, self.eigenvalues, self.null_eigenvalues,
                                                   self.kept):
            values, null, kept = np.asarray(values), np.asarray(null), np.asarray(kept, dtype=np.intp)
            if kind == "sorted":
                artists = self._plot_sorted(axis, values, null, kept, line_kw, null_kw, kept_kw)
                axis.set_xlabel("rank" if self.vector_label else "rank from the top (> 0) and from the bottom (< 0)")
                axis.set_ylabel(ylabel)
            else:
                artists = self._plot_hist(axis, values, null, kept, line_kw, null_kw, kept_kw)
                axis.set_xlabel(ylabel)
                axis.set_ylabel("density")
            for store, artist in zip((self.spectrum_artists_, self.null_artists_, self.kept_artists_), artists):
                store.append(artist)
            title = f"layer {layer}"
            if self.estimator_name:
                title = f"{self.estimator_name}, {title}"
            axis.set_title(title)
            axis.legend(loc="best", fontsize="small")
        self.figure_ = fig
        self.axes_ = np.asarray(axes, dtype=object)
        self.ax_ = axes[0] if n_panels == 1 else self.axes_
        return self

    def _plot_sorted(self, axis, values, null, kept, line_kw, null_kw, kept_kw):
        # A two-ended scree plot: signed spectra have outliers at both ends, so the
        # upper half is drawn from the top (rank 1 = largest) and the lower half from
        # the bottom (rank 1 = most negative), on a log rank axis that spreads out
        # the few leading ranks where outliers are.
        P = values.size
        half = P if self.vector_label else (P + 1) // 2
        branches = [slice(0, half)] + ([] if half == P else [slice(P - 1, half - 1, -1)])
        null_artist, lines = [], []
        for number, branch in enumerate(branches):
            branch_values = values[branch]
            ranks = np.arange(1, branch_values.size + 1)
            if null.shape[0] > 0:
                style = {"color": "0.55", "alpha": 0.45, "linewidth": 0, **(null_kw or {})}
                if number == 0:
                    style.setdefault("label", f"shuffled labels ({null.shape[0]}x, min-max)")
                null_artist.append(axis.fill_between(ranks, null[:, branch].min(axis=0),
                                                     null[:, branch].max(axis=0), **style))
            style = {"color": "C0", "linewidth": 1.2, **(line_kw or {})}
            if number == 0:
                style.setdefault("label", "true labels")
            lines.extend(axis.plot(ranks, branch_values, **style))
        kept_ranks = np.where(kept < half, kept + 1, P - kept)
        style = {"color": "C3", "s": 16, "zorder": 3, "label": f"kept ({kept.size})", **(kept_kw or {})}
        markers = axis.scatter(kept_ranks, values[kept], **style)
        axis.set_xscale("log")
        if len(branches) == 2:
            axis.axhline(0.0, color="0.8", linewidth=0.6, zorder=0)
        return lines, (null_artist or None), markers

    @staticmethod
    def _plot_hist(axis, values, null, kept, line_kw, null_kw, kept_kw):
        pooled = null.ravel()
        everything = np.concatenate([values, pooled])
        bins = np.linspace(everything.min(), everything.max(), 61) if everything.size else 10
        null_artist = None
        if pooled.size:
            style = {"color": "0.6", "alpha": 0.6, "density": True,
                     "label": f"shuffled labels ({null.shape[0]}x, pooled)", **(null_kw or {})}
            null_artist = axis.hist(pooled, bins=bins, **style)[2]
        style = {"color": "C0", "histtype": "step", "density": True, "linewidth": 1.2, "label": "true labels",
                 **(line_kw or {})}
        patches = axis.hist(values, bins=bins, **style)[2]
        # most eigenvalues of a wide lift sit near zero: a log scale keeps the tails visible
        axis.set_yscale("log")
        # kept eigenvalues as ticks on the bottom edge (x in data, y in axes coordinates)
        style = {"color": "C3", "marker": "|", "s": 200, "zorder": 3, "label": f"kept ({kept.size})",
                 "transform": axis.get_xaxis_transform(), "clip_on": False, **(kept_kw or {})}
        markers = axis.scatter(values[kept], np.zeros(kept.size), **style)
        return patches, null_artist, markers

    @classmethod
    def from_estimator(cls, estimator, X, y, *, layer=0, n_shuffles=5, random_state=None, sample_weight=None,
                       kind="sorted", ax=None, line_kw=None, null_kw=None, kept_kw=None):
        """Compute the spectra of a fitted estimator's layers on ``(X, y)`` and plot them.

        Each requested layer is replayed on ``X``: its input is ``X`` passed
        through the fitted layers before it, lifted with the layer's fitted
        ``random_weights_[l]`` and ``normalizers_[l]`` (same activation and
        degree), and its operator is formed with the labels coded exactly as
        the estimator codes them in ``fit`` (+-1 for two classes, one-hot for
        more, the targets for regression; centred if ``label_centering``,
        scaled to unit root-mean-square). Its whole spectrum is computed with
        a dense symmetric eigensolver (``scipy.linalg.eigvalsh``). With the
        training data, the kept eigenvalues are the estimator's
        ``eigenvalues_[l]`` (up to rounding for the matrix-free solvers).

        The null spectrum repeats the computation with the label rows randomly
        permuted (``n_shuffles`` permutations; sample weights stay with their
        rows).

        The cost per layer is ``n_shuffles + 1`` times one operator
        (``2 n P^2`` flops) and one dense eigensolve of the P x P matrix
        (``O(P^3)``; measured on one core of a busy machine: 0.25 s at
        P = 1024, 1.9 s at 2048, 15 s at 4096; it grows 8-fold per doubling
        of P), with a few P x P arrays in memory. For wide layers (P above
        about 4096) use few shuffles; the spectrum is computed whatever P.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~sklearn_lofi.LoFiTransformer`,
            :class:`~sklearn_lofi.NeuralLoFiClassifier` or
            :class:`~sklearn_lofi.NeuralLoFiRegressor`, or a fitted
            :class:`~sklearn.pipeline.Pipeline` whose last step is one (``X``
            is transformed by the steps before it).
        X : array-like of shape (n_samples, n_features)
            Input rows (the training data shows what the fit saw; held-out
            data shows which directions generalise).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels or targets, of the kind the estimator was fitted on.
        layer : int, list of int or "all", default=0
            Filtered layer(s) to show, 0-based as in ``random_weights_``.
        n_shuffles : int, default=5
            Number of random label permutations of the null spectrum (0 for
            none).
        random_state : int, RandomState instance or None, default=None
            Seed of the permutations.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the operator, as in ``fit``.
        kind : {"sorted", "hist"}, default="sorted"
            Kind of plot (see :meth:`plot`).
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per layer shown; None creates a figure.
        line_kw, null_kw, kept_kw : dict, default=None
            Styles passed to :meth:`plot`.

        Returns
        -------
        display : SpectrumDisplay
            The display, with the computed values and the plot.

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from sklearn_lofi import LoFiTransformer
        >>> from sklearn_lofi.inspection import SpectrumDisplay
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> model = make_pipeline(StandardScaler(), LoFiTransformer(width=128, n_components=4, random_state=0))
        >>> display = SpectrumDisplay.from_estimator(model.fit(X, y), X, y, n_shuffles=2, random_state=0)
        >>> display.eigenvalues[0].shape, display.null_eigenvalues[0].shape
        ((128,), (2, 128))
        >>> import numpy as np  # the kept entries of the spectrum are the fitted layer's eigenvalues
        >>> bool(np.allclose(display.eigenvalues[0][display.kept[0]], model[-1].eigenvalues_[0]))
        True
        """
        caller = f"{cls.__name__}.from_estimator"
        _check_matplotlib(caller)
        if not (isinstance(n_shuffles, (int, np.integer)) and not isinstance(n_shuffles, bool) and n_shuffles >= 0):
            raise ValueError(f"n_shuffles must be a non-negative int; got {n_shuffles!r}.")
        _check_spectrum_kind(kind)  # before the spectra are computed
        model, X = _final_step(estimator, X, caller, _SPECTRUM_ESTIMATORS,
                               "LoFiTransformer, NeuralLoFiClassifier or NeuralLoFiRegressor")
        n_layers = len(model.random_weights_)
        if n_layers == 0:
            raise ValueError(f"{caller}: the {type(model).__name__} has no filtered layers (n_layers=0).")
        layers = _check_layers(layer, n_layers)
        X = validate_data(model, X, dtype=FLOAT_DTYPES, reset=False)
        check_consistent_length(X, y)
        # the lift's dtype is the fit's (float32 weights stay float32)
        X = X.astype(model.random_weights_[0].dtype, copy=False)
        sample_weight = check_weights(sample_weight, X)
        raw = _check_labels(model, y, caller)
        classes = getattr(model, "classes_", None)

        def code(rows):
            labels = raw[rows]
            if classes is not None:
                labels = _code_classes(labels, classes, sample_weight, caller)
            return operator_labels(labels, sample_weight, model.label_centering)

        rng = new_random_state(random_state)
        labels = code(slice(None))
        null_labels = [code(rng.permutation(X.shape[0])) for _ in range(n_shuffles)]
        vector_label = labels.shape[1] > 1
        selection = getattr(model, "selection", "abs")

        eigenvalues, null_eigenvalues, kept = [], [], []
        with numba_threads(model.n_jobs) as n_threads:
            for index in layers:
                # the fitted activation and degree, whatever set_params has changed since the fit
                H = layer_input(X, model.random_weights_, model.normalizers_, model.components_, model._activation,
                                model._degree, index, n_threads)
                Z = lifted_rows(H, model.random_weights_[index], model.normalizers_[index], model._activation,
                                model._degree, n_threads)
                values, null = layer_spectra(Z, labels, null_labels, sample_weight, n_threads)
                del Z
                eigenvalues.append(values)
                null_eigenvalues.append(null)
                kept.append(kept_indices(values, int(model.n_components_[index]), selection, vector_label, X.dtype))
        display = cls(eigenvalues, null_eigenvalues, kept, layers, vector_label=vector_label,
                      estimator_name=type(model).__name__)
        return display.plot(ax=ax, kind=kind, line_kw=line_kw, null_kw=null_kw, kept_kw=kept_kw)


# -- FilterDisplay --------------------------------------------------------------------------------

_CONV_PARAMS = {"image_shape", "patch_size", "operator"}


def _is_image_model(step):
    """A ConvLoFiTransformer, or anything with its parameters (the display reads only its contract)."""
    get_params = getattr(step, "get_params", None)
    return get_params is not None and _CONV_PARAMS <= set(get_params(deep=False))


def _image_step(estimator, X, caller):
    """The convolutional step and ``X`` transformed by the pipeline steps before it."""
    if isinstance(estimator, Pipeline):
        positions = [i for i, (_, step) in enumerate(estimator.steps) if _is_image_model(step)]
        if not positions:
            raise TypeError(
                f"{caller} needs a fitted ConvLoFiTransformer or a Pipeline with one; the pipeline's steps are "
                f"{[type(step).__name__ for _, step in estimator.steps]}."
            )
        position = positions[0]
        model = estimator.steps[position][1]
        check_is_fitted(model, "filters_")
        if position > 0:
            X = estimator[:position].transform(X)
        return model, X
    if not _is_image_model(estimator):
        raise TypeError(
            f"{caller} needs a fitted ConvLoFiTransformer (or a Pipeline with one); got {type(estimator).__name__}."
        )
    check_is_fitted(estimator, "filters_")
    return estimator, X


def _first_layer_values(values):
    # one array, or a list with one array per layer (the filters are those of the first)
    if isinstance(values, (list, tuple)):
        values = values[0]
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _filter_image(patch, scaling):
    """A (h, w, channels) filter rescaled to [0, 1]: RGB for 3 channels, grey for 1, channels side by side else.

    ``"symmetric"`` maps 0 to 0.5 and the largest magnitude to 0 or 1, so the
    sign pattern shows and a nearly constant filter looks nearly flat;
    ``"minmax"`` maps the smallest value to 0 and the largest to 1.
    """
    patch = np.asarray(patch, dtype=np.float64)
    if scaling == "symmetric":
        peak = np.abs(patch).max()
        scaled = 0.5 + 0.5 * patch / peak if peak > 0 else np.full_like(patch, 0.5)
    else:
        low, high = patch.min(), patch.max()
        scaled = (patch - low) / (high - low) if high > low else np.full_like(patch, 0.5)
    channels = scaled.shape[2]
    if channels == 3:
        return scaled
    if channels == 1:
        return scaled[:, :, 0]
    return np.concatenate(list(np.moveaxis(scaled, 2, 0)), axis=1)


class FilterDisplay:
    """Top directions of a convolutional Neural LoFi model, shown as image patches.

    A :class:`~sklearn_lofi.ConvLoFiTransformer` forms its label-weighted
    operator from random features of image patches; the linear part of each
    kept direction (``filters_``) is a filter in patch space. This display
    shows the top filters, each rescaled to [0, 1] on its own (RGB for three
    channels, grey for one; other channel counts side by side), titled with
    its eigenvalue, in one block of
    rows, and optionally the filters of the same model fitted with the
    label-free operator (``operator="plain"``: the plain covariance, i.e.
    PCA of the lifted patches) in a second block.

    Use :meth:`from_estimator` to compute the values from a fitted
    estimator; the constructor only stores them.

    Parameters
    ----------
    filters : ndarray of shape (n_filters, patch_height, patch_width, n_channels)
        Filters of the label-weighted operator, in selection order.
    eigenvalues : ndarray of shape (n_filters,)
        Their eigenvalues (signed) or singular values.
    label_free_filters : ndarray of shape (n_label_free, patch_height, patch_width, n_channels), default=None
        Filters of the label-free operator, or None.
    label_free_eigenvalues : ndarray of shape (n_label_free,), default=None
        Their eigenvalues.
    operator : str, default="signed"
        Name of the operator of ``filters``, used as the row label.

    Attributes
    ----------
    filters : ndarray of shape (n_filters, patch_height, patch_width, n_channels)
        As the parameter.
    eigenvalues : ndarray of shape (n_filters,)
        As the parameter.
    label_free_filters : ndarray or None
        As the parameter.
    label_free_eigenvalues : ndarray or None
        As the parameter.
    operator : str
        As the parameter.
    figure_ : matplotlib Figure
        Figure of the plot (after :meth:`plot`).
    ax_ : matplotlib Axes
        The Axes the grid is drawn in (its own frame hidden).
    axes_ : ndarray of matplotlib Axes of shape (n_rows, n_cols)
        One small Axes per grid cell (unused cells are hidden).
    images_ : ndarray of shape (n_rows, n_cols), dtype=object
        The ``AxesImage`` of each cell, None for unused cells.

    See Also
    --------
    SpectrumDisplay : Whole spectrum of a layer against its null bulk.

    Notes
    -----
    ``filters_`` is the linear part ``W V / (c sqrt(P))`` of the kept
    directions: exactly the patch filter each output channel applies for
    ``activation="identity"``, its degree-1 part otherwise. With a finite
    width ``P``, ``W W^T`` is ``P I`` only up to relative errors of order
    ``sqrt(patch values / P)``, and these show in the images as noise on top
    of the patch operator's own eigenvectors (measured on CIFAR-10 3 x 3
    colour patches: the flat mean-brightness filter of the label-free
    operator varies by 46 % of its mean at ``width=128``, 20 % at 1024,
    against 5 % for the exact patch-space eigenvector). Use a width well
    above the patch's number of values for readable filters.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lofi.inspection import FilterDisplay
    >>> rng = np.random.RandomState(0)
    >>> filters = rng.standard_normal((4, 3, 3, 1))
    >>> display = FilterDisplay(filters, np.array([0.9, -0.7, 0.5, 0.2]))
    >>> display.plot()
    <...FilterDisplay object at ...>
    >>> display.axes_.shape
    (1, 4)
    """

    def __init__(self, filters, eigenvalues, *, label_free_filters=None, label_free_eigenvalues=None,
                 operator="signed"):
        self.filters = filters
        self.eigenvalues = eigenvalues
        self.label_free_filters = label_free_filters
        self.label_free_eigenvalues = label_free_eigenvalues
        self.operator = operator

    def plot(self, ax=None, *, n_cols=None, scaling="symmetric", cmap="gray"):
        """Plot the filters as a grid of images.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes whose area holds the grid (its frame is hidden). If None, a
            new figure is created.
        n_cols : int, default=None
            Filters per row; default ``min(n_filters, 9)``. Each block (label
            weighted, label free) takes as many rows as it needs.
        scaling : {"symmetric", "minmax"}, default="symmetric"
            How each filter is rescaled to [0, 1], on its own: ``"symmetric"``
            maps 0 to 0.5 and the largest magnitude to 0 or 1 (the sign
            pattern shows, and a nearly constant filter looks nearly flat;
            a filter's overall sign is arbitrary, as an eigenvector's);
            ``"minmax"`` maps the smallest value to 0 and the largest to 1
            (most contrast, but small variations look as strong as large
            ones).
        cmap : str or Colormap, default="gray"
            Colormap of single-channel filters (RGB filters ignore it).

        Returns
        -------
        display : FilterDisplay
            The display, with ``figure_``, ``ax_``, ``axes_`` and ``images_``.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        _check_filter_layout(n_cols, scaling)
        blocks = [(self.operator, np.asarray(self.filters), np.asarray(self.eigenvalues).reshape(-1))]
        if self.label_free_filters is not None:
            blocks.append(("label-free", np.asarray(self.label_free_filters),
                           np.asarray(self.label_free_eigenvalues).reshape(-1)))
        widest = max(len(filters) for _, filters, _ in blocks)
        if widest == 0:
            raise ValueError("FilterDisplay has no filters to plot.")
        if n_cols is None:
            n_cols = min(widest, 9)
        block_rows = [max(1, -(-len(filters) // n_cols)) for _, filters, _ in blocks]
        n_rows = sum(block_rows)
        if ax is None:
            import matplotlib.pyplot as plt

            # inches: 1.1 per column and 1.3 per row, a margin for the row labels
            # on the left and one for a title over the grid (``ax_.set_title``)
            width_in, height_in = 1.1 * n_cols + 0.4, 1.3 * n_rows + 0.35
            fig = plt.figure(figsize=(width_in, height_in))
            ax = fig.add_axes([0.3 / width_in, 0.0, 1.0 - 0.35 / width_in, 1.0 - 0.3 / height_in])
        fig = ax.figure
        ax.set_axis_off()
        axes = np.empty((n_rows, n_cols), dtype=object)
        images = np.empty((n_rows, n_cols), dtype=object)
        width, height = 1.0 / n_cols, 1.0 / n_rows
        for row in range(n_rows):
            for col in range(n_cols):
                # the cell's lower-left corner in the bounding Axes; margins leave room for the titles
                cell = ax.inset_axes([col * width + 0.06 * width, 1.0 - (row + 1) * height + 0.04 * height,
                                      0.88 * width, 0.72 * height])
                cell.set_xticks([])
                cell.set_yticks([])
                axes[row, col] = cell
        row = 0
        for (name, filters, values), rows in zip(blocks, block_rows):
            for index in range(rows * n_cols):
                cell = axes[row + index // n_cols, index % n_cols]
                if index >= len(filters):
                    cell.set_visible(False)
                    continue
                image = _filter_image(filters[index], scaling)
                images[row + index // n_cols, index % n_cols] = cell.imshow(
                    image, cmap=None if image.ndim == 3 else cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
                cell.set_title(f"{values[index]:.3g}", fontsize="small")
            axes[row, 0].set_ylabel(name, fontsize="small")
            row += rows
        self.figure_ = fig
        self.ax_ = ax
        self.axes_ = axes
        self.images_ = images
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y, *, n_filters=9, label_free=True, ax=None, n_cols=None,
                       scaling="symmetric", cmap="gray"):
        """Show the top filters of a fitted convolutional model, and its label-free counterpart's.

        The label-free counterpart is ``clone(model).set_params(operator="plain")``
        fitted on ``(X, y)``: the same patches, random features and
        selection, with the plain second moment instead of the
        label-weighted one. Fit ``model`` on the same ``(X, y)`` for a like
        for like comparison.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~sklearn_lofi.ConvLoFiTransformer`, or a fitted
            :class:`~sklearn.pipeline.Pipeline` with one as a step (the steps
            before it transform ``X``).
        X : array-like of shape (n_samples, n_features)
            Images, as the model takes them (used only for the label-free fit).
        y : array-like of shape (n_samples,)
            Labels (used only for the label-free fit).
        n_filters : int, default=9
            Number of top filters shown per block (at most ``n_components_``).
        label_free : bool, default=True
            Fit and show the label-free counterpart. Ignored when the model
            itself uses ``operator="plain"``.
        ax : matplotlib Axes, default=None
            Axes whose area holds the grid; None creates a figure.
        n_cols : int, default=None
            Filters per row (see :meth:`plot`).
        scaling : {"symmetric", "minmax"}, default="symmetric"
            Rescaling of each filter to [0, 1] (see :meth:`plot`).
        cmap : str or Colormap, default="gray"
            Colormap of single-channel filters.

        Returns
        -------
        display : FilterDisplay
            The display, with the filters and the plot.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn_lofi import ConvLoFiTransformer
        >>> from sklearn_lofi.inspection import FilterDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> X, y = X[:400] / 16, y[:400] >= 5
        >>> conv = ConvLoFiTransformer(patch_size=3, width=64, n_components=4, activation="identity",
        ...                            random_state=0).fit(X, y)
        >>> display = FilterDisplay.from_estimator(conv, X, y, n_filters=4)
        >>> display.filters.shape, display.label_free_filters.shape
        ((4, 3, 3, 1), (4, 3, 3, 1))
        >>> bool((display.label_free_eigenvalues > 0).all())  # a second moment: positive semi-definite
        True
        """
        caller = f"{cls.__name__}.from_estimator"
        _check_matplotlib(caller)
        if not (isinstance(n_filters, (int, np.integer)) and not isinstance(n_filters, bool) and n_filters >= 1):
            raise ValueError(f"n_filters must be a positive int; got {n_filters!r}.")
        _check_filter_layout(n_cols, scaling)  # before the label-free fit, which may take a while
        model, X = _image_step(estimator, X, caller)
        operator = model.get_params(deep=False)["operator"]
        filters, values = np.asarray(model.filters_), _first_layer_values(model.eigenvalues_)
        free_filters = free_values = None
        if label_free and operator != "plain":
            plain = clone(model).set_params(operator="plain").fit(X, y)
            free_filters = np.asarray(plain.filters_)[:n_filters]
            free_values = _first_layer_values(plain.eigenvalues_)[:n_filters]
        display = cls(filters[:n_filters], values[:n_filters], label_free_filters=free_filters,
                      label_free_eigenvalues=free_values, operator=operator)
        return display.plot(ax=ax, n_cols=n_cols, scaling=scaling, cmap=cmap)
