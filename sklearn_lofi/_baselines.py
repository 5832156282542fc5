"""Lazy random-feature baselines: the Neural LoFi stack with the filter off."""

from sklearn.base import MultiOutputMixin, RegressorMixin

from ._base import READOUT_CONSTRAINTS, STACK_CONSTRAINTS, BaseLoFiPredictor, LoFiClassifierMixin, LoFiRegressorMixin
from ._docstrings import fill_doc
from ._lofi import HEAD_WIDTH, N_LAYERS, WIDTH

_NAMES = ["n_layers", "width", "degree", "activation", "head_width", "alpha", "random_state", "n_jobs", "verbose"]
_DEFAULTS = dict(n_layers=N_LAYERS, width=WIDTH, head_width=HEAD_WIDTH, layer_kind="unfiltered (lazy)",
                 after="random-feature head")

_ATTRIBUTES = """
    Attributes
    ----------
    random_weights_ : list of ndarray
        Lift weights of each lazy layer, shape ``(n_inputs, width)``.
    normalizers_ : ndarray of shape (n_layers,)
        Root-mean-square input norm of each lazy layer.
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
        Names of features seen during ``fit`` (string column names only)."""


def _init(self, n_layers, width, degree, activation, head_width, alpha, random_state, n_jobs, verbose):
    self.n_layers = n_layers
    self.width = width
    self.degree = degree
    self.activation = activation
    self.head_width = head_width
    self.alpha = alpha
    self.random_state = random_state
    self.n_jobs = n_jobs
    self.verbose = verbose


@fill_doc(names=_NAMES, **_DEFAULTS)
class RandomFeatureBaselineClassifier(LoFiClassifierMixin, BaseLoFiPredictor):
    """Lazy random-feature classifier: the Neural LoFi stack without filtering.

    Every layer is a frozen random lift ``sigma(H W / c) / sqrt(P)`` kept
    whole (``V = I``), followed by the same head and leave-one-out ridge
    readout as :class:`NeuralLoFiClassifier`; the labels never shape the
    features. Same parameters and seeds give the same random weights as the
    Neural LoFi estimator's first layer, so the two compare like for like.

    Parameters
    ----------
    {params}

    __ATTRIBUTES__
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    temperature_ : float
        Softmax temperature of ``predict_proba``.

    See Also
    --------
    NeuralLoFiClassifier : The same stack with label-weighted filtering.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn_lofi import RandomFeatureBaselineClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = RandomFeatureBaselineClassifier(n_layers=1, width=256, head_width=256, random_state=0)
    >>> clf.fit(X, y).predict(X[:4])
    array([0, 0, 0, 0])
    """

    _filtered = False
    _parameter_constraints: dict = {**STACK_CONSTRAINTS, **READOUT_CONSTRAINTS}

    def __init__(self, *, n_layers=N_LAYERS, width=WIDTH, degree=None, activation="relu", head_width=HEAD_WIDTH,
                 alpha=None, random_state=None, n_jobs=None, verbose=0):
        _init(self, n_layers, width, degree, activation, head_width, alpha, random_state, n_jobs, verbose)


@fill_doc(names=_NAMES, **_DEFAULTS)
class RandomFeatureBaselineRegressor(MultiOutputMixin, RegressorMixin, LoFiRegressorMixin, BaseLoFiPredictor):
    """Lazy random-feature regressor: the Neural LoFi stack without filtering.

    Every layer is a frozen random lift kept whole (``V = I``), followed by
    the same head and leave-one-out ridge readout as
    :class:`NeuralLoFiRegressor`. Single and multi-output targets.

    Parameters
    ----------
    {params}

    __ATTRIBUTES__

    See Also
    --------
    NeuralLoFiRegressor : The same stack with label-weighted filtering.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_lofi import RandomFeatureBaselineRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = RandomFeatureBaselineRegressor(n_layers=1, width=256, head_width=256, random_state=0)
    >>> reg.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _filtered = False
    _parameter_constraints: dict = {**STACK_CONSTRAINTS, **READOUT_CONSTRAINTS}

    def __init__(self, *, n_layers=N_LAYERS, width=WIDTH, degree=None, activation="relu", head_width=HEAD_WIDTH,
                 alpha=None, random_state=None, n_jobs=None, verbose=0):
        _init(self, n_layers, width, degree, activation, head_width, alpha, random_state, n_jobs, verbose)


for _cls in (RandomFeatureBaselineClassifier, RandomFeatureBaselineRegressor):
    _cls.__doc__ = _cls.__doc__.replace("    __ATTRIBUTES__", _ATTRIBUTES.strip("\n"))
