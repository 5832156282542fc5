"""scikit-learn's estimator contract, checked over every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_lofi import (
    ConvLoFiTransformer,
    DeepNNGPClassifier,
    DeepNNGPRegressor,
    KernelLoFiClassifier,
    KernelLoFiRegressor,
    LoFiTransformer,
    NeuralLoFiClassifier,
    NeuralLoFiRegressor,
    RandomFeatureBaselineClassifier,
    RandomFeatureBaselineRegressor,
)

# Small widths keep the ~60 checks per estimator fast. The regressors use a
# fixed alpha so that the sample-weight equivalence check exercises the
# weighted statistics themselves. With the default alpha=None they fail that
# check for the reason below (leave-one-out choice of alpha), except when both
# fits happen to pick the same candidate; a strict xfail would then flip, so
# those instances are not listed here.
ESTIMATORS = [
    LoFiTransformer(width=64, n_components=4, random_state=0),
    ConvLoFiTransformer(patch_size=3, width=32, n_components=4, random_state=0),
    NeuralLoFiClassifier(width=64, n_components=4, head_width=128, random_state=0),
    NeuralLoFiRegressor(width=64, n_components=4, head_width=128, alpha=1e-3, random_state=0),
    RandomFeatureBaselineClassifier(width=64, head_width=128, random_state=0),
    RandomFeatureBaselineRegressor(width=64, head_width=128, alpha=1e-3, random_state=0),
    KernelLoFiClassifier(n_components=4, random_state=0),
    KernelLoFiRegressor(n_components=4, alpha=1e-3, random_state=0),
    DeepNNGPClassifier(),
    DeepNNGPRegressor(alpha=1e-3),
]

_LOO_REASON = (
    "predict_proba's softmax temperature (and, with the default alpha=None, the readout's alpha) "
    "is chosen on leave-one-out predictions; leaving out one of two repeated rows is not the same "
    "as halving the weight of one row, so weights cannot equal repetitions here (scikit-learn "
    "lists RidgeCV and RidgeClassifierCV as expected failures of this check for the same reason). "
    "tests/test_estimators.py checks the equivalence at fixed alpha for every other output."
)
EXPECTED_FAILED_CHECKS = {
    "NeuralLoFiClassifier": {"check_sample_weight_equivalence_on_dense_data": _LOO_REASON},
    "RandomFeatureBaselineClassifier": {"check_sample_weight_equivalence_on_dense_data": _LOO_REASON},
    "KernelLoFiClassifier": {"check_sample_weight_equivalence_on_dense_data": _LOO_REASON},
    "DeepNNGPClassifier": {"check_sample_weight_equivalence_on_dense_data": _LOO_REASON},
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


# Strict xfail comes from pytest's xfail_strict (pyproject.toml): parametrize_with_checks only
# accepts xfail_strict from scikit-learn 1.8 on, and we support 1.6.
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_every_public_estimator_is_checked():
    import sklearn_lofi

    public = {name for name in sklearn_lofi.__all__ if name[0].isupper()}
    assert public == {type(e).__name__ for e in ESTIMATORS}


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILED_CHECKS))
def test_expected_failures_name_real_estimators(name):
    assert name in {type(e).__name__ for e in ESTIMATORS}
