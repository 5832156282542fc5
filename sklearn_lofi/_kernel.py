"""Infinite-width estimators: kernel Neural LoFi and the deep NNGP baseline.

Each is the exact ``width -> infinity`` limit of a finite estimator with the
same parameters: :class:`KernelLoFiClassifier` / :class:`KernelLoFiRegressor`
of :class:`~sklearn_lofi.NeuralLoFiClassifier` / ``Regressor``, and
:class:`DeepNNGPClassifier` / :class:`DeepNNGPRegressor` of the lazy
:class:`~sklearn_lofi.RandomFeatureBaselineClassifier` / ``Regressor``
(``head=True`` standing for ``head_width -> infinity``). Their cost is
O(n_samples^2) memory and O(n_samples^3) time.
"""

from sklearn.base import MultiOutputMixin, RegressorMixin

from ._base import (
    FILTER_CONSTRAINTS,
    KERNEL_READOUT_CONSTRAINTS,
    STACK_CONSTRAINTS,
    BaseKernelPredictor,
    LoFiClassifierMixin,
    LoFiRegressorMixin,
)
from ._docstrings import fill_doc
from ._lofi import LABEL_CENTERING, N_COMPONENTS, N_LAYERS

_STACK = {name: STACK_CONSTRAINTS[name] for name in ("n_layers", "degree", "activation", "n_jobs", "verbose")}
_KERNEL_LOFI_CONSTRAINTS = {**_STACK, **FILTER_CONSTRAINTS, **KERNEL_READOUT_CONSTRAINTS,
                            "random_state": STACK_CONSTRAINTS["random_state"]}
_NNGP_CONSTRAINTS = {**_STACK, **KERNEL_READOUT_CONSTRAINTS}

_KERNEL_LOFI_NAMES = ["n_layers", "kernel_n_components", "kernel_degree", "kernel_activation", "head", "alpha",
                      "label_centering", "selection", "kernel_eig_solver", "kernel_random_state", "n_jobs", "verbose"]
_NNGP_NAMES = ["n_layers", "kernel_degree", "kernel_activation", "head", "alpha", "n_jobs", "verbose"]
_DEFAULTS = dict(n_layers=N_LAYERS, n_components=N_COMPONENTS, label_centering=LABEL_CENTERING)

_COMMON_ATTRIBUTES = """
    train_inputs_ : list of ndarray or None
        Per layer (the head last), the training features it reads: the
        training ``X`` for the first layer, a filtered layer's training
        features for the next one; None where a layer reads the previous
        layer's kernel. New rows are compared with these.
    normalizers_ : ndarray of shape (n_kernel_layers,)
        Root-mean-square training norm of each layer's input (the limit of
        the finite estimators' ``normalizers_``).
    train_variances_ : list of ndarray of shape (n_samples,)
        Training rows' squared input norms over the normaliser squared.
    dual_coef_ : ndarray of shape (n_samples, n_outputs) or None
        Kernel ridge coefficients: scores are ``kernel(X, X_train) @
        dual_coef_ + intercept_`` (None when the readout is on features).
    coef_ : ndarray of shape (n_features_last, n_outputs) or None
        Ridge coefficients on the last filtered features (``head=False``).
    intercept_ : ndarray of shape (n_outputs,)
        Readout intercepts.
    alpha_ : float
        Readout ridge strength (chosen by leave-one-out among candidates).
    loo_scores_ : ndarray of shape (n_alphas,)
        Mean squared leave-one-out residual of each candidate.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit`` (string column names only)."""

_FILTER_ATTRIBUTES = """
    feature_coefs_ : list of ndarray of shape (n_samples, n_components)
        Per filtered layer, ``G^{-1/2} B``: a row's new features are its
        layer kernel against the training rows times these.
    eigenvalues_ : list of ndarray
        Signed eigenvalues (scalar label) or singular values of the
        unfolding (vector label) of the kept directions; the same
        normalisation as the finite estimators', whose eigenvalues converge
        to these.
    n_components_ : ndarray of shape (n_layers,)
        Number of directions each layer kept."""

_CLASSIFIER_ATTRIBUTES = """
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    temperature_ : float
        Softmax temperature of ``predict_proba``."""

_KERNEL_LOFI_TEXT = """
    Per filtered layer, the NNGP kernel ``G`` of the current representation
    (after RMS normalisation) is whitened (eigenvalues raised to at least
    ``1e-6`` of its mean diagonal), the label-weighted whitened operator
    ``G^{1/2} diag(y) G^{1/2}`` (its correlation-tensor unfolding for vector
    labels) gives the top ``K`` directions ``B`` by ``|eigenvalue|``, and the
    new features are ``G^{1/2} B`` on the training rows and
    ``kernel(x, X_train) G^{-1/2} B`` on new ones. This is the exact limit
    of the finite estimator as ``width`` and ``head_width`` grow: the same
    computation with ``Z Z^T`` in place of ``G`` gives the finite estimator's
    eigenvalues and features. The readout is kernel ridge with an intercept
    (a weighted-centred kernel) and leave-one-out choice of ``alpha``.

    Memory grows as ``n_samples**2`` and time as ``n_samples**3``; a fit that
    would not fit in the available memory fails at once with a
    ``MemoryError`` naming the need. The kernels are computed in float64
    whatever the input dtype (float32 rounding loses the kernel of rows far
    from the origin); predictions come back in the input's dtype. Read more
    in the :ref:`User Guide <kernel_form>`."""

_NNGP_TEXT = """
    Every layer maps the kernel of the previous one through the NNGP map of
    the activation (after RMS normalisation): ``K_1 = kappa(X X^T / c^2)``,
    ``K_(l+1) = kappa(K_l / c_l^2)``, with no filtering, followed by kernel
    ridge with an intercept and leave-one-out choice of ``alpha``. This is
    the exact infinite-width limit of the lazy random-feature baseline with
    the same ``n_layers``, ``degree`` and ``activation`` (``head=True``
    standing for its random-feature head), and the paper's lazy
    infinite-width comparator. Memory grows as ``n_samples**2`` and time as
    ``n_samples**3``; computed in float64 whatever the input dtype. Read
    more in the :ref:`User Guide <kernel_form>`."""


def _init(self, values):
    for name, value in values.items():
        if name != "self":
            setattr(self, name, value)


def _set_doc(cls, text, attributes):
    cls.__doc__ = cls.__doc__.replace("    __TEXT__", text.strip("\n")).replace(
        "    __ATTRIBUTES__", attributes.strip("\n"))
    return cls


@fill_doc(names=_KERNEL_LOFI_NAMES, layer_kind="filtered kernel", after="head", **_DEFAULTS)
class KernelLoFiClassifier(LoFiClassifierMixin, BaseKernelPredictor):
    """Infinite-width Neural LoFi classifier (kernel form).

    __TEXT__

    Labels are coded as for :class:`~sklearn_lofi.NeuralLoFiClassifier`:
    +-1 (two classes) or one-hot (more) in the operators, +-1 indicators in
    the readout.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    __ATTRIBUTES__

    See Also
    --------
    NeuralLoFiClassifier : The finite-width estimator this is the limit of.
    DeepNNGPClassifier : The same kernels without filtering.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_lofi import KernelLoFiClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = make_pipeline(StandardScaler(), KernelLoFiClassifier(n_components=16))
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.95
    True
    """

    _parameter_constraints: dict = _KERNEL_LOFI_CONSTRAINTS

    def __init__(self, *, n_layers=N_LAYERS, n_components=N_COMPONENTS, degree=None, activation="relu", head=True,
                 alpha=None, label_centering=LABEL_CENTERING, selection="abs", eig_solver="auto",
                 random_state=None, n_jobs=None, verbose=0):
        _init(self, locals())


@fill_doc(names=_KERNEL_LOFI_NAMES, layer_kind="filtered kernel", after="head", **_DEFAULTS)
class KernelLoFiRegressor(MultiOutputMixin, RegressorMixin, LoFiRegressorMixin, BaseKernelPredictor):
    """Infinite-width Neural LoFi regressor (kernel form).

    __TEXT__

    Several targets give a correlation tensor, as for
    :class:`~sklearn_lofi.NeuralLoFiRegressor`.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    __ATTRIBUTES__

    See Also
    --------
    NeuralLoFiRegressor : The finite-width estimator this is the limit of.
    DeepNNGPRegressor : The same kernels without filtering.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_lofi import KernelLoFiRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = KernelLoFiRegressor(n_components=8).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = _KERNEL_LOFI_CONSTRAINTS

    def __init__(self, *, n_layers=N_LAYERS, n_components=N_COMPONENTS, degree=None, activation="relu", head=True,
                 alpha=None, label_centering=LABEL_CENTERING, selection="abs", eig_solver="auto",
                 random_state=None, n_jobs=None, verbose=0):
        _init(self, locals())


@fill_doc(names=_NNGP_NAMES, layer_kind="NNGP", after="head", **_DEFAULTS)
class DeepNNGPClassifier(LoFiClassifierMixin, BaseKernelPredictor):
    """Deep NNGP classifier: composed infinite-width kernels and kernel ridge.

    __TEXT__

    Parameters
    ----------
    {params}

    Attributes
    ----------
    __ATTRIBUTES__

    See Also
    --------
    RandomFeatureBaselineClassifier : The finite-width estimator this is the limit of.
    KernelLoFiClassifier : The same kernels with label-weighted filtering.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn_lofi import DeepNNGPClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> DeepNNGPClassifier().fit(X, y).predict(X[:4])
    array([0, 0, 0, 0])
    """

    _filtered = False
    _parameter_constraints: dict = _NNGP_CONSTRAINTS

    def __init__(self, *, n_layers=N_LAYERS, degree=None, activation="relu", head=True, alpha=None, n_jobs=None,
                 verbose=0):
        _init(self, locals())


@fill_doc(names=_NNGP_NAMES, layer_kind="NNGP", after="head", **_DEFAULTS)
class DeepNNGPRegressor(MultiOutputMixin, RegressorMixin, LoFiRegressorMixin, BaseKernelPredictor):
    """Deep NNGP regressor: composed infinite-width kernels and kernel ridge.

    __TEXT__

    Parameters
    ----------
    {params}

    Attributes
    ----------
    __ATTRIBUTES__

    See Also
    --------
    RandomFeatureBaselineRegressor : The finite-width estimator this is the limit of.
    KernelLoFiRegressor : The same kernels with label-weighted filtering.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_lofi import DeepNNGPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> DeepNNGPRegressor(n_layers=2).fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _filtered = False
    _parameter_constraints: dict = _NNGP_CONSTRAINTS

    def __init__(self, *, n_layers=N_LAYERS, degree=None, activation="relu", head=True, alpha=None, n_jobs=None,
                 verbose=0):
        _init(self, locals())


for _cls, _attributes in (
    (KernelLoFiClassifier, _FILTER_ATTRIBUTES + _COMMON_ATTRIBUTES + _CLASSIFIER_ATTRIBUTES),
    (KernelLoFiRegressor, _FILTER_ATTRIBUTES + _COMMON_ATTRIBUTES),
    (DeepNNGPClassifier, _COMMON_ATTRIBUTES + _CLASSIFIER_ATTRIBUTES),
    (DeepNNGPRegressor, _COMMON_ATTRIBUTES),
):
    _set_doc(_cls, _KERNEL_LOFI_TEXT if _cls.__name__.startswith("Kernel") else _NNGP_TEXT, _attributes)
