"""Shared plumbing of the public estimators: validation, labels, fitted state.

No numerics live here: the layer stack is ``_stack``, the operator and its
eigen-directions ``_spectral``, the readout ``_ridge`` and the probabilities
``_calibration``.
"""

import functools
import os
from numbers import Integral, Real

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    check_random_state,
    column_or_1d,
    validate_data,
)

from ._activations import ACTIVATIONS
from ._distributed import check_dask_layout, check_dask_rows, is_dask_array, is_dask_collection, lazy_rows
from ._calibration import binary_logits, fit_temperature, probabilities
from ._ridge import DEFAULT_ALPHAS, fit_kernel_ridge_loo, fit_ridge_loo
from ._spectral import warn_reduced
from ._features import lifted_rows, rms_normalizer
from ._stack import draw_weights, fit_kernel_layers, fit_layers, predict_kernel_rows, predict_rows, transform_layers
from ._threads import numba_threads

FLOAT_DTYPES = [np.float64, np.float32]


def validate_fit_data(estimator, X, y, **y_checks):
    """``validate_data`` of a fit: X float32 or float64 with at least 2 rows.

    A dask array ``X`` given to an estimator that fits out of core
    (``_out_of_core``) stays a dask array: it is checked on the workers
    (``_distributed.check_dask_rows``), never brought to the client. ``y``
    is (a dask ``y`` computed first), with the same checks as in memory.
    """
    if not (getattr(estimator, "_out_of_core", False) and is_dask_collection(X)):
        return validate_data(estimator, X, y, dtype=FLOAT_DTYPES, ensure_min_samples=2, **y_checks)
    X = check_dask_rows(X, type(estimator).__name__)
    y = validate_data(estimator, "no_validation", np.asarray(y) if is_dask_array(y) else y, **y_checks)
    if _num_samples(y) != X.shape[0]:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: [{X.shape[0]}, "
                         f"{_num_samples(y)}]")
    estimator.n_features_in_ = X.shape[1]
    if hasattr(estimator, "feature_names_in_"):  # a dask array has no column names: forget an earlier fit's
        del estimator.feature_names_in_
    return X, y


def maps_dask_chunks(estimator, X):
    """Whether a prediction method should map over the chunks of ``X`` lazily.

    True for a dask ``X`` and an estimator that fits out of core, once it is
    known to be fitted and ``X`` has the fitted number of columns.
    """
    if not (getattr(estimator, "_out_of_core", False) and is_dask_collection(X)):
        return False
    check_is_fitted(estimator)
    check_dask_layout(X, type(estimator).__name__)
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
                         f"expecting {estimator.n_features_in_} features as input.")
    return True


def float_dtype(X):
    """The dtype predictions of ``X`` come in: X's own if float32 or float64, else float64."""
    return X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)


def keep_state_on_error(fit_method):
    """Make a fit all or nothing: if it raises, the estimator is left as it
    was before the call (fitted or not), never half-fitted.

    Inputs are validated before any work, but some errors only show after
    ``n_features_in_`` and the like are set (too few classes, an invalid
    candidate grid, layer widths that do not match ``n_layers``).
    """

    @functools.wraps(fit_method)
    def fit(self, *args, **kwargs):
        previous = dict(vars(self))
        try:
            return fit_method(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(previous)
            raise

    return fit


STACK_CONSTRAINTS = {
    "n_layers": [Interval(Integral, 0, None, closed="left")],
    "width": [Interval(Integral, 1, None, closed="left"), "array-like"],
    "degree": [None, Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "random_state": ["random_state"],
    "n_jobs": [Integral, None],
    "verbose": ["verbose"],
}
FILTER_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left"), "array-like"],
    "label_centering": ["boolean"],
    "selection": [StrOptions({"abs", "positive", "negative"})],
    "eig_solver": [StrOptions({"auto", "dense", "arpack", "randomized"})],
}
_ALPHA_CONSTRAINT = [None, Interval(Real, 0, None, closed="left"), "array-like"]
READOUT_CONSTRAINTS = {
    "head_width": [Interval(Integral, 0, None, closed="left")],
    "alpha": _ALPHA_CONSTRAINT,
}
KERNEL_READOUT_CONSTRAINTS = {
    "head": ["boolean"],
    "alpha": _ALPHA_CONSTRAINT,
}


def per_layer(value, n_layers, name):
    """Expand an int or a sequence of ints to one positive int per layer."""
    if isinstance(value, Integral):
        return [int(value)] * n_layers
    values = list(np.asarray(value).reshape(-1))
    if len(values) != n_layers:
        raise ValueError(
            f"{name} has {len(values)} entries but n_layers={n_layers}; give one int, "
            f"or one value per layer."
        )
    for v in values:
        if not isinstance(v, Integral) or v < 1:
            raise ValueError(f"Every entry of {name} must be an int >= 1; got {value!r}.")
    return [int(v) for v in values]


def check_alphas(alpha):
    """Readout candidates as a 1-D float array."""
    if alpha is None:
        return DEFAULT_ALPHAS
    alphas = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(f"alpha must be a number or a 1-D sequence of at least one candidate; got {alpha!r}.")
    if not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
        raise ValueError(f"alpha must be non-negative and finite; got {alpha!r}.")
    return alphas


def new_random_state(random_state):
    """``check_random_state``, except that ``None`` means a fresh generator.

    ``check_random_state(None)`` returns NumPy's global generator; drawing from
    it would change the global state of the caller.
    """
    if random_state is None:
        return np.random.RandomState()
    return check_random_state(random_state)


# largest regression target magnitude: squared residuals summed over many rows stay finite
MAX_TARGET = 1e150


def check_weights(sample_weight, X):
    sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight must have a positive sum; all weights are zero.")
    return sample_weight


def operator_labels(Y, sample_weight, centre):
    """Labels of the moment operator: optionally centred, each column at unit RMS.

    Scaling does not change a scalar label's directions; for vector labels it
    keeps outputs in different units from dominating the unfolding.
    """
    Y = np.asarray(Y, dtype=np.float64)
    total = sample_weight.sum()
    if centre:
        Y = Y - sample_weight @ Y / total
    # the squares of labels beyond ~1e154 (or below ~1e-154) overflow (underflow):
    # such columns are first divided by their largest magnitude (others are left
    # as they are, bit for bit)
    peak = np.abs(Y).max(axis=0)
    extreme = (peak > 1e150) | ((peak > 0) & (peak < 1e-150))
    if extreme.any():
        Y = Y / np.where(extreme, peak, 1.0)
    rms = np.sqrt(sample_weight @ (Y * Y) / total)
    rms[~(rms > np.finfo(np.float64).tiny)] = 1.0
    return Y / rms


def check_label_types(y, owner):
    """Reject object labels that mix strings and numbers, which cannot be sorted.

    Without this, NumPy's sort fails deep inside the label handling with
    "'<' not supported between instances of 'int' and 'str'".
    """
    y = np.asarray(y)
    if y.dtype != object:
        return
    kinds = {"string" if isinstance(label, str) else "number" if isinstance(label, (Real, np.bool_)) else
             type(label).__name__ for label in y.ravel()}
    if len(kinds) > 1:
        raise TypeError(
            f"{owner} needs class labels of one type (all strings or all numbers); y mixes "
            f"{' and '.join(sorted(kinds))} labels."
        )


def encode_classes(y, sample_weight, owner):
    """Sorted classes, integer codes and one-hot matrix of class labels.

    Raises a ValueError naming ``owner`` when fewer than two classes have
    positive weight.
    """
    classes, codes = np.unique(y, return_inverse=True)
    present = np.unique(codes[sample_weight > 0])
    if present.size < 2:
        raise ValueError(
            f"{owner} needs samples of at least 2 classes with positive weight; the data "
            f"contains only one class: {classes[present[:1]].tolist()[0]!r}."
        )
    one_hot = (codes[:, None] == np.arange(classes.size)[None, :]).astype(np.float64)
    return classes, codes, one_hot


def check_finite_readout(coef, intercept):
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
        raise ValueError(
            "The ridge readout produced non-finite coefficients; the input may be too "
            "large in magnitude for its dtype. Scale the features (e.g. StandardScaler)."
        )


class TargetLabelsMixin:
    """Operator labels of the supervised transformers, from ``target_type`` and ``label_centering``."""

    def _labels(self, y, sample_weight):
        target_type = self.target_type
        if target_type != "continuous":
            check_label_types(y, type(self).__name__)
        if target_type == "auto":
            inferred = type_of_target(y, input_name="y", raise_unknown=True)
            target_type = {"binary": "binary", "multiclass": "multiclass"}.get(inferred, "continuous")
        if target_type == "continuous":
            if y.dtype.kind not in "biuf":
                raise ValueError(f"target_type='continuous' needs numeric y; got dtype {y.dtype}.")
            self.classes_ = None
            labels = y.reshape(len(y), -1).astype(np.float64)
        else:
            if y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)  # as the classifiers do with a column of labels
            if y.ndim != 1:
                raise ValueError(f"target_type={target_type!r} needs a 1-D y; got shape {y.shape}.")
            classes, _, one_hot = encode_classes(y, sample_weight, type(self).__name__)
            if target_type == "binary" and classes.size != 2:
                raise ValueError(f"target_type='binary' needs exactly 2 classes in y; got {classes.size}. "
                                 "Use target_type='multiclass' or 'auto'.")
            self.classes_ = classes
            labels = 2.0 * one_hot[:, 1:] - 1.0 if classes.size == 2 else one_hot
        return operator_labels(labels, sample_weight, self.label_centering)


class BaseLoFi(BaseEstimator):
    """Layer stack shared by every estimator; ``_filtered`` selects LoFi or lazy.

    These estimators fit dask arrays out of core (``_distributed``) and map
    their predictions over its chunks.
    """

    _filtered = True
    _out_of_core = True

    def _layer_sizes(self):
        widths = per_layer(self.width, self.n_layers, "width")
        if not self._filtered:
            return widths, [None] * self.n_layers
        return widths, per_layer(self.n_components, self.n_layers, "n_components")

    def _fit_stack(self, X, labels, sample_weight, random_state, n_threads):
        widths, n_components = self._layer_sizes()
        state = fit_layers(
            X,
            labels,
            sample_weight,
            widths=widths,
            n_components=n_components,
            activation=self.activation,
            degree=self.degree,
            selection=getattr(self, "selection", "abs"),
            eig_solver=getattr(self, "eig_solver", "auto"),
            random_state=random_state,
            n_threads=n_threads,
            verbose=self.verbose,
        )
        warn_reduced(state["reduced"])
        # prediction replays the fitted layers with the fitted activation and degree,
        # whatever set_params (or a later failed fit) has put in the parameters since
        self._activation, self._degree = self.activation, self.degree
        self._fit_eig_solvers = state["eig_solvers"]
        self.random_weights_ = state["weights"]
        self.normalizers_ = np.asarray(state["normalizers"], dtype=np.float64)
        if self._filtered:
            self.components_ = state["components"]
            self.eigenvalues_ = state["eigenvalues"]
            self.n_components_ = np.asarray(state["n_components"], dtype=np.intp)
        return state["H"]  # a row source (._features)

    def _transform_stack(self, X, n_threads):
        components = self.components_ if self._filtered else [None] * len(self.random_weights_)
        return transform_layers(
            X, self.random_weights_, self.normalizers_, components, self._activation, self._degree, n_threads
        )


class BaseLoFiPredictor(BaseLoFi):
    """Layer stack + random-feature head + ridge readout with leave-one-out alpha."""

    def _fit_readout_model(self, X, targets, labels, sample_weight):
        """Fit stack, head and readout; return leave-one-out readout predictions."""
        alphas = check_alphas(self.alpha)
        self._layer_sizes()  # parameter errors before any work
        random_state = new_random_state(self.random_state)
        with numba_threads(self.n_jobs) as n_threads:
            H = self._fit_stack(X, labels, sample_weight, random_state, n_threads)
            if self.head_width > 0:
                self.head_normalizer_ = rms_normalizer(H, sample_weight, n_threads)
                self.head_weights_ = draw_weights(random_state, H.width, self.head_width, X.dtype)
                H = lifted_rows(H, self.head_weights_, self.head_normalizer_, self.activation, None, n_threads)
            else:
                self.head_normalizer_, self.head_weights_ = None, None
            coef, intercept, alpha, scores, loo = fit_ridge_loo(H, targets, sample_weight, alphas, n_threads)
        check_finite_readout(coef, intercept)
        self.coef_ = coef.astype(X.dtype)
        self.intercept_ = intercept.astype(X.dtype)
        self.alpha_ = alpha
        self.loo_scores_ = scores
        return loo

    def _raw_decision(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        components = self.components_ if self._filtered else [None] * len(self.random_weights_)
        head = None if self.head_weights_ is None else (self.head_weights_, self.head_normalizer_)
        with numba_threads(self.n_jobs) as n_threads:
            return predict_rows(
                X, self.random_weights_, self.normalizers_, components, self._activation, self._degree,
                head, self.coef_, self.intercept_, n_threads,
            )


def available_memory():
    """Bytes of memory available to this process (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def kernel_fit_bytes(n, itemsize, moment_bytes=0):
    """Peak memory of a kernel fit on n rows: its largest phase of n x n arrays.

    A filtered layer holds the kernel, its eigenvectors and LAPACK's
    divide-and-conquer workspace (about 2 n^2) besides the operator's formed
    moments (``moment_bytes``, zero for the randomized solver); the kernel
    ridge readout the head's kernel, its float64 centred copy, the reflected
    copy, the workspace and two sets of eigenvectors. Measured peak above
    the data at n = 4000 (float64, binary; benchmarks/kernel_cost.py): 0.78
    GiB for both estimators, against 0.95 GiB counted here.
    """
    readout = (6 * 8 + 2 * itemsize) * n * n
    layer = 4 * itemsize * n * n + moment_bytes
    return max(readout, layer)


class BaseKernelPredictor(BaseEstimator):
    """Infinite-width (kernel) stack + NNGP head + kernel ridge readout.

    The P -> infinity limit of :class:`BaseLoFiPredictor`: ``_filtered``
    selects kernel Neural LoFi or the deep NNGP.
    """

    _filtered = True

    def _check_memory(self, X, labels):
        n, itemsize = X.shape[0], 8
        moment_bytes = 0
        if self._filtered and self.n_layers > 0 and self.eig_solver != "randomized":
            # two copies of the m formed n x n moments while they are combined; "auto"
            # forms them only within working_memory (``_spectral.choose_eig_solver``)
            moment_bytes = 2 * labels.shape[1] * n * n * itemsize
            if self.eig_solver == "auto":
                moment_bytes = min(moment_bytes, 2 * get_config()["working_memory"] * 2**20)
        needed = kernel_fit_bytes(n, itemsize, moment_bytes)
        available = available_memory()
        if available is not None and needed > available:
            raise MemoryError(
                f"{type(self).__name__} needs about {needed / 2**30:.1f} GiB for n_samples={n} (its cost "
                f"grows as n_samples**2 in memory and n_samples**3 in time) but only "
                f"{available / 2**30:.1f} GiB is available. Use fewer rows, or the finite-width estimators "
                f"(NeuralLoFiClassifier, NeuralLoFiRegressor, RandomFeatureBaseline*), whose cost is linear "
                f"in n_samples."
            )

    def _fit_readout_model(self, X, targets, labels, sample_weight):
        """Fit the kernel layers, the head and the readout; return leave-one-out predictions.

        The kernel computations run in float64 whatever the input dtype: the
        NNGP kernel of rows far from the origin varies in its last digits
        (a float32 fit of make_regression(1500, 10) + 1e4 scored R^2 0.004
        against 0.556 in float64; raw load_wine changed 5 % of its labels).
        Predictions come back in the input's dtype.
        """
        alphas = check_alphas(self.alpha)
        self._check_memory(X, labels)
        # C order: the kernels' BLAS products round differently for a Fortran-ordered X
        # (a DataFrame's values), and the model must not depend on the memory layout
        X = np.ascontiguousarray(X, dtype=np.float64)
        n_components = (
            per_layer(self.n_components, self.n_layers, "n_components") if self._filtered
            else [None] * self.n_layers
        )
        with numba_threads(self.n_jobs) as n_threads:
            state = fit_kernel_layers(
                X, labels, sample_weight, n_components=n_components, activation=self.activation,
                degree=self.degree, head=self.head, selection=getattr(self, "selection", "abs"),
                eig_solver=getattr(self, "eig_solver", "auto"),
                random_state=new_random_state(getattr(self, "random_state", 0)),
                n_threads=n_threads, verbose=self.verbose,
            )
            if state["kernel"] is not None:
                dual, intercept, alpha, scores, loo = fit_kernel_ridge_loo(
                    state["kernel"], targets, sample_weight, alphas)
                coef = None
            else:
                coef, intercept, alpha, scores, loo = fit_ridge_loo(
                    state["features"], targets, sample_weight, alphas, n_threads)
                dual = None
        check_finite_readout(dual if coef is None else coef, intercept)
        warn_reduced(state["reduced"], rank_bound="n_samples")
        self.train_inputs_ = state["inputs"]
        self.normalizers_ = np.asarray(state["normalizers"], dtype=np.float64)
        self.train_variances_ = state["variances"]
        self._layer_series = state["series"]
        self._layer_degrees = state["degrees"]
        self._activation = self.activation
        if self._filtered:
            self.feature_coefs_ = [c for c in state["coefs"] if c is not None]
            self.eigenvalues_ = [v for v in state["eigenvalues"] if v is not None]
            self.n_components_ = np.asarray([k for k in state["n_components"] if k is not None], dtype=np.intp)
            self._fit_eig_solvers = [s for s in state["eig_solvers"] if s is not None]
        self._layer_coefs = state["coefs"]
        self.dual_coef_ = dual
        self.coef_ = coef
        self.intercept_ = intercept
        self.alpha_ = alpha
        self.loo_scores_ = scores
        return loo

    def _raw_decision(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        readout = self.coef_ if self.dual_coef_ is None else self.dual_coef_
        with numba_threads(self.n_jobs) as n_threads:
            scores = predict_kernel_rows(
                np.ascontiguousarray(X, dtype=np.float64), self.train_inputs_, self.normalizers_, self.train_variances_,
                self._layer_series, self._layer_degrees, self._layer_coefs, self._activation, readout,
                self.intercept_, n_threads,
            )
        return scores.astype(X.dtype, copy=False)


class LoFiClassifierMixin(ClassifierMixin):
    """fit / decision_function / predict / predict_proba of the two classifiers."""

    @_fit_context(prefer_skip_nested_validation=True)
    @keep_state_on_error
    def fit(self, X, y, sample_weight=None):
        """Fit the layers, the head and the readout.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data. The finite-width estimators fit a dask array
            chunked by rows out of core, on the workers (:ref:`distributed`);
            the kernel estimators compute it into memory.
        y : array-like of shape (n_samples,)
            Class labels of any type (strings, integers, booleans).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; every statistic of the fit is weighted.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = validate_fit_data(self, X, y)
        check_label_types(y, type(self).__name__)
        check_classification_targets(y)
        sample_weight = check_weights(sample_weight, X)
        classes, codes, one_hot = encode_classes(y, sample_weight, type(self).__name__)
        if classes.size == 2:
            targets = 2.0 * one_hot[:, 1:] - 1.0
            labels = targets
        else:
            targets = 2.0 * one_hot - 1.0
            labels = one_hot
        labels = operator_labels(labels, sample_weight, self.label_centering) if self._filtered else None
        loo = self._fit_readout_model(X, targets, labels, sample_weight)
        self.classes_ = classes
        logits = binary_logits(loo[:, 0]) if classes.size == 2 else loo
        self.temperature_ = fit_temperature(logits, codes, sample_weight)
        return self

    def decision_function(self, X):
        """Readout scores.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Input data. For a dask array, the finite-width estimators
            return a lazy dask array with the same row chunks.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, positive scores favour ``classes_[1]``; otherwise
            one score per class (the ridge fit of its +-1 indicator).
        """
        if maps_dask_chunks(self, X):
            return lazy_rows(self.decision_function, X, None if self.classes_.size == 2 else self.classes_.size,
                             float_dtype(X))
        scores = self._raw_decision(X)
        return scores.ravel() if self.classes_.size == 2 else scores

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Input data. For a dask array, the finite-width estimators
            return a lazy dask array with the same row chunks.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        if maps_dask_chunks(self, X):
            return lazy_rows(self.predict, X, None, self.classes_.dtype)
        scores = self.decision_function(X)
        if self.classes_.size == 2:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Class probabilities by temperature scaling of the decision values.

        The probabilities are ``softmax(temperature_ * logits)``, with logits
        the decision values (``(-d, d)`` for two classes). ``temperature_`` is
        fitted in ``fit`` on the leave-one-out decision values of the
        readout, so it reflects out-of-sample confidence. Probabilities are a
        monotone function of ``decision_function`` and their argmax equals
        ``predict``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Input data. For a dask array, the finite-width estimators
            return a lazy dask array with the same row chunks.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        if maps_dask_chunks(self, X):
            return lazy_rows(self.predict_proba, X, self.classes_.size, float_dtype(X))
        scores = self.decision_function(X)
        logits = binary_logits(scores) if self.classes_.size == 2 else scores
        return probabilities(logits, self.temperature_).astype(scores.dtype, copy=False)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Input data. For a dask array, the finite-width estimators
            return a lazy dask array with the same row chunks.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        if maps_dask_chunks(self, X):
            return lazy_rows(self.predict_log_proba, X, self.classes_.size, float_dtype(X))
        return np.log(self.predict_proba(X))


class LoFiRegressorMixin:
    """fit / predict of the two regressors (single and multi-output)."""

    @_fit_context(prefer_skip_nested_validation=True)
    @keep_state_on_error
    def fit(self, X, y, sample_weight=None):
        """Fit the layers, the head and the readout.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data. The finite-width estimators fit a dask array
            chunked by rows out of core, on the workers (:ref:`distributed`);
            the kernel estimators compute it into memory.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Numeric targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; every statistic of the fit is weighted.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = validate_fit_data(self, X, y, multi_output=True, y_numeric=True)
        if y.dtype.kind not in "biuf":
            raise ValueError(f"{type(self).__name__} needs numeric targets; got dtype {y.dtype}.")
        sample_weight = check_weights(sample_weight, X)
        self._y_ndim = y.ndim
        targets = y.reshape(len(y), -1).astype(np.float64)
        if np.abs(targets).max() > MAX_TARGET:
            # the readout's sums of squared residuals would overflow float64
            raise ValueError(f"{type(self).__name__} takes targets up to {MAX_TARGET:.0e} in magnitude; the "
                             f"largest is {np.abs(targets).max():.3g}. Rescale y (for example divide it by its "
                             "standard deviation) and scale the predictions back.")
        labels = operator_labels(targets, sample_weight, self.label_centering) if self._filtered else None
        self._fit_readout_model(X, targets, labels, sample_weight)
        return self

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Input data. For a dask array, the finite-width estimators
            return a lazy dask array with the same row chunks.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Same number of dimensions as the ``y`` given to ``fit``.
        """
        if maps_dask_chunks(self, X):
            return lazy_rows(self.predict, X, None if self._y_ndim == 1 else self.coef_.shape[1], float_dtype(X))
        prediction = self._raw_decision(X)
        return prediction.ravel() if self._y_ndim == 1 else prediction
