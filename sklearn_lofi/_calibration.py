"""Class probabilities from ridge decision values by temperature scaling.

The ridge readout of a classifier regresses a +-1 coding of the classes; its
outputs are scores, not probabilities. ``predict_proba`` applies a softmax to
``temperature * logits`` (logits = the decision values, or ``(-d, d)`` for a
binary decision ``d``). The single temperature is fitted by minimising the
weighted log-loss of the *leave-one-out* decision values, which the readout
gives for free, so the calibration is not fitted on in-sample scores. A single
positive factor keeps probabilities a monotone function of the decision values
and their argmax equal to ``predict``.
"""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

_LOG_TEMPERATURE_BOUNDS = (-12.0, 12.0)


def binary_logits(decision):
    """Two-column logits ``(-d, d)`` for a binary decision vector."""
    decision = np.asarray(decision)
    return np.column_stack([-decision, decision])


def fit_temperature(logits, codes, sample_weight):
    """Temperature minimising the weighted log-loss of ``softmax(t * logits)``."""
    logits = np.asarray(logits, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    picked = logits[np.arange(len(codes)), codes]

    def loss(log_t):
        t = np.exp(log_t)
        log_p = log_softmax(t * logits, axis=1)
        return -np.sum(w * (log_p[np.arange(len(codes)), codes])) / w.sum()

    if not np.any(np.abs(logits - picked[:, None]) > 0):
        return 1.0
    result = minimize_scalar(loss, bounds=_LOG_TEMPERATURE_BOUNDS, method="bounded")
    return float(np.exp(result.x))


def probabilities(logits, temperature):
    """Row-wise softmax of ``temperature * logits``."""
    return softmax(temperature * np.asarray(logits, dtype=np.float64), axis=1)
