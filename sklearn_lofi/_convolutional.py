"""Convolutional Neural LoFi: one filtered layer over all patches of images."""

import math
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    FILTER_CONSTRAINTS,
    FLOAT_DTYPES,
    STACK_CONSTRAINTS,
    TargetLabelsMixin,
    check_weights,
    keep_state_on_error,
    new_random_state,
)
from ._docstrings import fill_doc
from ._patches import patch_geometry, pooled_shape
from ._spectral import warn_reduced
from ._stack import fit_conv_layer, transform_conv
from ._threads import numba_threads

_SHARED = ["degree", "activation", "label_centering", "selection", "eig_solver", "target_type", "random_state",
           "n_jobs", "verbose"]


def _pair(value, name):
    pair = (value, value) if isinstance(value, Integral) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, Integral) and v >= 1 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of positive ints; got {value!r}.")
    return int(pair[0]), int(pair[1])


def _image_shape(image_shape, n_features):
    """``(height, width, channels)`` of rows of ``n_features`` values."""
    if image_shape is None:
        side = math.isqrt(n_features)
        return (side, side, 1) if side * side == n_features else (1, n_features, 1)
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = shape + (1,)
    if len(shape) != 3 or not all(isinstance(v, Integral) and v >= 1 for v in shape):
        raise ValueError(
            f"image_shape must be (height, width) or (height, width, channels) of positive ints; got {image_shape!r}."
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)!r} holds {math.prod(shape)} values per image, but X has "
            f"{n_features} features."
        )
    return tuple(int(v) for v in shape)


@fill_doc(names=_SHARED, label_centering=True)
class ConvLoFiTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, TargetLabelsMixin, BaseEstimator):
    """Convolutional Neural LoFi: signed patch filters learned from the labels.

    Every ``patch_size`` patch of every training image is lifted with one
    frozen random convolution (``width`` channels, a non-linearity), and the
    label-weighted operator of the lifted patches is averaged over all
    positions of all images, each patch carrying its image's label. Its top
    ``n_components`` directions by ``|eigenvalue|`` form a 1 x 1 convolution;
    ``transform`` returns the resulting feature maps, optionally average
    pooled, flattened. Follow it with a predictor (for example
    :class:`NeuralLoFiClassifier` with ``n_layers=0`` for the paper's
    "random convolution, 1 x 1 filter, random-feature head, ridge" model,
    or with more filtered layers) in a :class:`~sklearn.pipeline.Pipeline`.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(height, width, channels)`` of each row of
        ``X``, whose values are in (height, width, channel) order (as
        ``images.reshape(n, -1)`` gives for an array of shape
        ``(n, height, width, channels)``). ``None`` reads square single-channel
        images when ``n_features`` is a square, else one-row signals.
    patch_size : int or pair of int, default=5
        Height and width of the patches (cut to the image's size along an
        axis where the image is smaller).
    stride : int, default=1
        Step between patch positions, along both axes.
    padding : {"same", "valid"}, default="same"
        ``"same"`` pads with zeros to ``ceil(size / stride)`` positions per
        axis; ``"valid"`` uses only patches inside the image.
    width : int, default=256
        Number ``P`` of random convolution channels (the lift's width).
    n_components : int, default=16
        Number ``K`` of filters kept (output channels). Fewer are kept, with a
        warning, when the operator has lower numerical rank.
    pool : int, default=1
        Average the output maps over non-overlapping ``pool x pool`` windows
        (``1``: no pooling).
    operator : {"signed", "plain"}, default="signed"
        ``"signed"`` is Neural LoFi's label-weighted operator. ``"plain"``
        ignores the labels and keeps the top directions of the plain
        (uncentred) second moment of the lifted patches: the label-free
        counterpart the paper contrasts the signed filters with.

    {params}

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images.
    patch_shape_ : tuple of int
        ``(patch_height, patch_width, channels)``.
    output_shape_ : tuple of int
        ``(height, width, n_components_)`` of the (pooled) output maps;
        ``transform`` flattens them in this order.
    random_weights_ : ndarray of shape (patch_size, width)
        Weights ``W`` of the random convolution, one column per channel, rows
        in (dy, dx, channel) order.
    normalizer_ : float
        Root-mean-square patch norm ``c`` of the training images.
    components_ : ndarray of shape (width, ``n_components_``)
        The 1 x 1 filter ``V``: kept directions of the operator.
    eigenvalues_ : ndarray of shape (``n_components_``,)
        Their signed eigenvalues (scalar labels), or singular values of the
        correlation-tensor unfolding (vector labels).
    n_components_ : int
        Number of filters kept.
    filters_ : ndarray of shape (``n_components_``, patch_height, patch_width, channels)
        Each kept direction's linear part in patch space,
        ``W V / (c sqrt(P))``: the patch whose correlation gives the output
        channel for ``activation="identity"``, and its degree-1 Hermite part
        (up to the activation's first coefficient) otherwise.
    classes_ : ndarray or None
        Class labels when ``y`` was treated as classes, else None.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit`` (only when ``X`` has string
        column names).

    See Also
    --------
    LoFiTransformer : The fully connected filtered layers.

    Notes
    -----
    With patches ``p_is`` (image ``i``, position ``s``, ``S`` positions),
    ``c = sqrt(sum_is w_i |p_is|^2 / (S sum_i w_i))``,
    ``z_is = sigma(W^T p_is / c) / sqrt(P)`` and
    ``C = sum_is w_i y_i z_is z_is^T / (S sum_i w_i)``; the output at position
    ``s`` is ``V^T z_is``. The patch matrix is never held: it is extracted
    and lifted by blocks that fit scikit-learn's ``working_memory``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lofi import ConvLoFiTransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> conv = ConvLoFiTransformer(patch_size=3, width=64, n_components=4, pool=2, random_state=0)
    >>> conv.fit_transform(X / 16, y >= 5).shape
    (1797, 64)
    >>> conv.image_shape_, conv.output_shape_, conv.filters_.shape
    ((8, 8, 1), (4, 4, 4), (4, 3, 3, 1))
    """

    _parameter_constraints: dict = {
        "image_shape": [None, "array-like"],
        "patch_size": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "stride": [Interval(Integral, 1, None, closed="left")],
        "padding": [StrOptions({"same", "valid"})],
        "width": [Interval(Integral, 1, None, closed="left")],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "pool": [Interval(Integral, 1, None, closed="left")],
        "operator": [StrOptions({"signed", "plain"})],
        **{name: STACK_CONSTRAINTS[name] for name in ("degree", "activation", "random_state", "n_jobs", "verbose")},
        **{name: FILTER_CONSTRAINTS[name] for name in ("label_centering", "selection", "eig_solver")},
        "target_type": [StrOptions({"auto", "continuous", "binary", "multiclass"})],
    }

    def __init__(
        self,
        *,
        image_shape=None,
        patch_size=5,
        stride=1,
        padding="same",
        width=256,
        n_components=16,
        pool=1,
        operator="signed",
        degree=None,
        activation="relu",
        label_centering=True,
        selection="abs",
        eig_solver="auto",
        target_type="auto",
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.image_shape = image_shape
        self.patch_size = patch_size
        self.stride = stride
        self.padding = padding
        self.width = width
        self.n_components = n_components
        self.pool = pool
        self.operator = operator
        self.degree = degree
        self.activation = activation
        self.label_centering = label_centering
        self.selection = selection
        self.eig_solver = eig_solver
        self.target_type = target_type
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _geometry(self, n_features):
        shape = _image_shape(self.image_shape, n_features)
        geometry = patch_geometry(shape, _pair(self.patch_size, "patch_size"), self.stride, self.padding)
        if geometry.out_height < 1 or geometry.out_width < 1:
            raise ValueError(f"No patch position fits: stride={self.stride} with image_shape={shape}.")
        return geometry

    def _fit(self, X, y, sample_weight):
        X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES, multi_output=True, ensure_min_samples=2)
        sample_weight = check_weights(sample_weight, X)
        geometry = self._geometry(X.shape[1])
        labels = self._labels(y, sample_weight)
        if self.operator == "plain":
            labels = np.ones((X.shape[0], 1))
        with numba_threads(self.n_jobs) as n_threads:
            state = fit_conv_layer(
                X, labels, sample_weight, geometry=geometry, width=self.width, n_components=self.n_components,
                activation=self.activation, degree=self.degree, selection=self.selection,
                eig_solver=self.eig_solver, pool=self.pool, random_state=new_random_state(self.random_state),
                n_threads=n_threads, verbose=self.verbose,
            )
        kept = state["components"].shape[1]
        if kept < self.n_components:
            warn_reduced([(1, kept, self.n_components)], rank_bound="the number of patches and the width")
        self._geometry_ = geometry
        self._activation, self._degree, self._pool = self.activation, self.degree, self.pool
        self.image_shape_ = (geometry.height, geometry.width, geometry.channels)
        self.patch_shape_ = (geometry.patch_height, geometry.patch_width, geometry.channels)
        self.output_shape_ = pooled_shape(geometry, self.pool, kept)
        self.random_weights_ = state["weights"]
        self.normalizer_ = state["normalizer"]
        self.components_ = state["components"]
        self.eigenvalues_ = state["eigenvalues"]
        self.n_components_ = kept
        self.filters_ = (self.random_weights_ @ self.components_).T.reshape((kept,) + self.patch_shape_) / (
            self.normalizer_ * math.sqrt(self.width))
        self._n_features_out = state["H"].shape[1]
        return state["H"]

    @_fit_context(prefer_skip_nested_validation=True)
    @keep_state_on_error
    def fit(self, X, y, sample_weight=None):
        """Learn the random convolution's 1 x 1 filter from labelled images.

        Parameters
        ----------
        X : array-like of shape (n_samples, height * width * channels)
            Training images, one flattened image per row.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels or targets (see ``target_type``); with ``operator="plain"``
            they are validated but do not enter the filters.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the images (each patch carries its
            image's weight).

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._fit(X, y, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @keep_state_on_error
    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the training images' feature maps.

        Parameters
        ----------
        X : array-like of shape (n_samples, height * width * channels)
            Training images.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels or targets (required).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        X_new : ndarray of shape (n_samples, ``prod(output_shape_)``)
            Same as ``fit(X, y).transform(X)``, without lifting twice.
        """
        return self._fit(X, y, sample_weight)

    def transform(self, X):
        """Feature maps of new images.

        Parameters
        ----------
        X : array-like of shape (n_samples, height * width * channels)
            Images, flattened as in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, ``prod(output_shape_)``)
            The (pooled) maps, flattened in (height, width, channel) order, in
            the dtype of ``X``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        with numba_threads(self.n_jobs) as n_threads:
            return transform_conv(X, self._geometry_, self.random_weights_, self.normalizer_, self.components_,
                                  self._activation, self._degree, self._pool, n_threads)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
