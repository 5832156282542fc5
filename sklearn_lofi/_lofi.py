"""Neural LoFi estimators: the supervised transformer, classifier and regressor."""

from numbers import Integral

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, MultiOutputMixin, RegressorMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    FILTER_CONSTRAINTS,
    FLOAT_DTYPES,
    READOUT_CONSTRAINTS,
    STACK_CONSTRAINTS,
    BaseLoFi,
    BaseLoFiPredictor,
    LoFiClassifierMixin,
    LoFiRegressorMixin,
    TargetLabelsMixin,
    check_weights,
    float_dtype,
    keep_state_on_error,
    maps_dask_chunks,
    new_random_state,
    validate_fit_data,
)
from ._distributed import lazy_rows
from ._docstrings import fill_doc
from ._threads import numba_threads

# Defaults, chosen from the real-data benchmark (doc/benchmarks.rst).
N_LAYERS = 1
WIDTH = 1024
N_COMPONENTS = 64
HEAD_WIDTH = 2048
LABEL_CENTERING = True

_FILTER_PARAMS = ["n_layers", "width", "n_components", "degree", "activation"]
_COMMON_OPTIONS = ["random_state", "n_jobs", "verbose"]
_DOC_DEFAULTS = dict(
    n_layers=N_LAYERS, width=WIDTH, n_components=N_COMPONENTS, head_width=HEAD_WIDTH,
    label_centering=LABEL_CENTERING,
)


@fill_doc(
    names=_FILTER_PARAMS + ["label_centering", "selection", "eig_solver", "target_type"] + _COMMON_OPTIONS,
    layer_kind="filtered", after="output", **_DOC_DEFAULTS,
)
class LoFiTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, TargetLabelsMixin, BaseLoFi):
    """Supervised feature learning by Neural Low-Degree Filtering.

    Each layer lifts its input with a frozen random non-linear map of width
    ``P``, forms the label-weighted second-moment operator of the lifted
    features, keeps its top ``K`` directions by ``|eigenvalue|`` and projects
    onto them. ``transform`` returns the last layer's projection, whose
    *squares* carry the label: follow it with a non-linear model (or use
    :class:`NeuralLoFiClassifier` / :class:`NeuralLoFiRegressor`, which add a
    random-feature head and a ridge readout).

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    random_weights_ : list of ndarray
        Lift weights ``W`` of each layer, shape ``(n_inputs, width)``.
    normalizers_ : ndarray of shape (n_layers,)
        Root-mean-square input norm ``c`` of each layer (training data).
    components_ : list of ndarray
        Kept directions ``V`` of each layer, shape ``(width, n_components_[l])``.
    eigenvalues_ : list of ndarray
        Signed eigenvalues of the kept directions (scalar labels), or singular
        values of the correlation-tensor unfolding (vector labels).
    n_components_ : ndarray of shape (n_layers,)
        Number of directions each layer kept.
    classes_ : ndarray or None
        Class labels when ``y`` was treated as classes, else None.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit`` (only when ``X`` has string
        column names).

    See Also
    --------
    NeuralLoFiClassifier : Neural LoFi layers, a random-feature head and a ridge readout.
    sklearn.kernel_approximation.RBFSampler : Label-free random features.

    Notes
    -----
    With ``H_0 = X`` and training weights ``w``, layer ``l`` computes
    ``c = sqrt(sum_i w_i |h_i|^2 / sum_i w_i)``, ``Z = sigma(H W / c) / sqrt(P)``,
    ``C = Z^T diag(w * y) Z / sum(w)`` and ``H <- Z V`` with ``V`` the top
    eigenvectors of ``C`` by ``|eigenvalue|``. Directions are returned in
    selection order with the largest-magnitude entry of each positive.

    References
    ----------
    Dandi, Vilucchio, Arnaboldi, Tabanelli, Krzakala, "Deep Learning as Neural
    Low-Degree Filtering: A Spectral Theory of Hierarchical Feature Learning",
    arXiv:2605.13612 (2026).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn_lofi import LoFiTransformer
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> lofi = LoFiTransformer(width=256, n_components=8, random_state=0)
    >>> lofi.fit_transform(X, y).shape
    (569, 8)
    >>> lofi.get_feature_names_out()[:3]
    array(['lofitransformer0', 'lofitransformer1', 'lofitransformer2'],
          dtype=object)
    """

    _parameter_constraints: dict = {
        **STACK_CONSTRAINTS,
        **FILTER_CONSTRAINTS,
        "target_type": [StrOptions({"auto", "continuous", "binary", "multiclass"})],
    }
    _parameter_constraints["n_layers"] = [Interval(Integral, 1, None, closed="left")]

    def __init__(
        self,
        *,
        n_layers=N_LAYERS,
        width=WIDTH,
        n_components=N_COMPONENTS,
        degree=None,
        activation="relu",
        label_centering=LABEL_CENTERING,
        selection="abs",
        eig_solver="auto",
        target_type="auto",
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_layers = n_layers
        self.width = width
        self.n_components = n_components
        self.degree = degree
        self.activation = activation
        self.label_centering = label_centering
        self.selection = selection
        self.eig_solver = eig_solver
        self.target_type = target_type
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _fit(self, X, y, sample_weight):
        X, y = validate_fit_data(self, X, y, multi_output=True)
        sample_weight = check_weights(sample_weight, X)
        labels = self._labels(y, sample_weight)
        self._layer_sizes()
        with numba_threads(self.n_jobs) as n_threads:
            H = self._fit_stack(X, labels, sample_weight, new_random_state(self.random_state), n_threads)
        self._n_features_out = H.width
        return H.take(slice(None))

    @_fit_context(prefer_skip_nested_validation=True)
    @keep_state_on_error
    def fit(self, X, y, sample_weight=None):
        """Learn the filtered layers.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data. The finite-width estimators fit a dask array
            chunked by rows out of core, on the workers (:ref:`distributed`);
            the kernel estimators compute it into memory.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels or targets (see ``target_type``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; every statistic of the fit is weighted.

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
        """Fit, then return the training data's last representation.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data. The finite-width estimators fit a dask array
            chunked by rows out of core, on the workers (:ref:`distributed`);
            the kernel estimators compute it into memory.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels or targets (required).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_[-1])
            Same as ``fit(X, y).transform(X)``, without lifting twice.
        """
        return self._fit(X, y, sample_weight)

    def transform(self, X):
        """Project new data through the fitted layers.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Input data. For a dask array, the finite-width estimators
            return a lazy dask array with the same row chunks.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_[-1])
            Last layer's representation, in the dtype of ``X`` (float32 or float64).
        """
        if maps_dask_chunks(self, X):
            return lazy_rows(self.transform, X, self._n_features_out, float_dtype(X))
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        with numba_threads(self.n_jobs) as n_threads:
            return self._transform_stack(X, n_threads)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


_PREDICTOR_NAMES = _FILTER_PARAMS + ["head_width", "alpha", "label_centering", "selection", "eig_solver"] + _COMMON_OPTIONS


@fill_doc(names=_PREDICTOR_NAMES, layer_kind="filtered", after="random-feature head", **_DOC_DEFAULTS)
class NeuralLoFiClassifier(LoFiClassifierMixin, BaseLoFiPredictor):
    """Neural LoFi classifier: filtered layers, random-feature head, ridge readout.

    The labels are coded as +-1 (two classes) or one-hot (more) for the
    label-weighted operators of the filtered layers, and as +-1 indicators
    for the ridge readout, whose ``alpha`` is chosen by leave-one-out.
    ``predict_proba`` applies a softmax with one temperature fitted on the
    leave-one-out decision values.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    random_weights_ : list of ndarray
        Lift weights of each filtered layer.
    normalizers_ : ndarray of shape (n_layers,)
        Root-mean-square input norm of each filtered layer.
    components_ : list of ndarray
        Kept directions of each filtered layer.
    eigenvalues_ : list of ndarray
        Signed eigenvalues (two classes) or singular values of the
        correlation-tensor unfolding (more classes) of the kept directions.
    n_components_ : ndarray of shape (n_layers,)
        Number of directions each layer kept.
    head_weights_ : ndarray or None
        Lift weights of the head (None when ``head_width=0``).
    head_normalizer_ : float or None
        Root-mean-square input norm of the head.
    coef_ : ndarray of shape (n_readout_features, n_outputs)
        Readout coefficients; one output for two classes, else one per class.
    intercept_ : ndarray of shape (n_outputs,)
        Readout intercepts.
    alpha_ : float
        Readout ridge strength (chosen by leave-one-out among candidates).
    loo_scores_ : ndarray of shape (n_alphas,)
        Mean squared leave-one-out residual of each candidate.
    temperature_ : float
        Softmax temperature of ``predict_proba``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit`` (string column names only).

    See Also
    --------
    RandomFeatureBaselineClassifier : The same stack without filtering.
    LoFiTransformer : The filtered layers alone.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn_lofi import NeuralLoFiClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = NeuralLoFiClassifier(width=512, head_width=1024, random_state=0)
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.95
    True
    >>> clf.predict_proba(X_test[:2]).shape
    (2, 10)
    """

    _parameter_constraints: dict = {**STACK_CONSTRAINTS, **FILTER_CONSTRAINTS, **READOUT_CONSTRAINTS}

    def __init__(
        self,
        *,
        n_layers=N_LAYERS,
        width=WIDTH,
        n_components=N_COMPONENTS,
        degree=None,
        activation="relu",
        head_width=HEAD_WIDTH,
        alpha=None,
        label_centering=LABEL_CENTERING,
        selection="abs",
        eig_solver="auto",
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_layers = n_layers
        self.width = width
        self.n_components = n_components
        self.degree = degree
        self.activation = activation
        self.head_width = head_width
        self.alpha = alpha
        self.label_centering = label_centering
        self.selection = selection
        self.eig_solver = eig_solver
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose


@fill_doc(names=_PREDICTOR_NAMES, layer_kind="filtered", after="random-feature head", **_DOC_DEFAULTS)
class NeuralLoFiRegressor(MultiOutputMixin, RegressorMixin, LoFiRegressorMixin, BaseLoFiPredictor):
    """Neural LoFi regressor: filtered layers, random-feature head, ridge readout.

    A scalar target gives one label-weighted operator per layer; several
    targets give a correlation tensor, whose unfolding's top left singular
    vectors are kept. The ridge readout's ``alpha`` is chosen by leave-one-out.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    random_weights_ : list of ndarray
        Lift weights of each filtered layer.
    normalizers_ : ndarray of shape (n_layers,)
        Root-mean-square input norm of each filtered layer.
    components_ : list of ndarray
        Kept directions of each filtered layer.
    eigenvalues_ : list of ndarray
        Signed eigenvalues (one target) or singular values of the unfolding
        (several targets) of the kept directions, for targets centred (when
        ``label_centering``) and scaled to unit root-mean-square.
    n_components_ : ndarray of shape (n_layers,)
        Number of directions each layer kept.
    head_weights_ : ndarray or None
        Lift weights of the head (None when ``head_width=0``).
    head_normalizer_ : float or None
        Root-mean-square input norm of the head.
    coef_ : ndarray of shape (n_readout_features, n_outputs)
        Readout coefficients.
    intercept_ : ndarray of shape (n_outputs,)
        Readout intercepts.
    alpha_ : float
        Readout ridge strength.
    loo_scores_ : ndarray of shape (n_alphas,)
        Mean squared leave-one-out residual of each candidate.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit`` (string column names only).

    See Also
    --------
    RandomFeatureBaselineRegressor : The same stack without filtering.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_lofi import NeuralLoFiRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = NeuralLoFiRegressor(width=256, n_components=8, head_width=512, random_state=0)
    >>> reg.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {**STACK_CONSTRAINTS, **FILTER_CONSTRAINTS, **READOUT_CONSTRAINTS}

    def __init__(
        self,
        *,
        n_layers=N_LAYERS,
        width=WIDTH,
        n_components=N_COMPONENTS,
        degree=None,
        activation="relu",
        head_width=HEAD_WIDTH,
        alpha=None,
        label_centering=LABEL_CENTERING,
        selection="abs",
        eig_solver="auto",
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_layers = n_layers
        self.width = width
        self.n_components = n_components
        self.degree = degree
        self.activation = activation
        self.head_width = head_width
        self.alpha = alpha
        self.label_centering = label_centering
        self.selection = selection
        self.eig_solver = eig_solver
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
