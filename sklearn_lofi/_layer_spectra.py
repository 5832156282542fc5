"""Full spectra of fitted layers' label-weighted operators, and their null spectra.

The numerics behind :class:`sklearn_lofi.inspection.SpectrumDisplay`. A layer
``l`` of a fitted stack is replayed on rows ``X``: its input ``H_l`` comes from
the fitted layers before it (``_stack.transform_layers``), its lift
``Z = sigma(H_l W_l / c_l) / sqrt(P)`` uses the fitted weights and normaliser
(``_features.LiftedRows``, centred rows as in the fit), and its operator is
the correlation tensor of ``_spectral.label_moments``. Here the *whole*
spectrum is computed (dense ``eigvalsh`` of a P x P matrix, ``O(P^3)``), not
only the kept directions:

- scalar label (m = 1): the signed eigenvalues of ``C = T[0]``;
- vector label (m > 1, one-hot classes or several targets): the singular
  values of the unfolding ``[T[1] ... T[m]]``, i.e. the square roots of the
  eigenvalues of ``sum_c T[c]^2`` (non-negative).

These are the quantities the layer ranks its directions by, so the kept
eigenvalues of a dense fit are entries of this spectrum. The *null* spectrum
is the same computation with the label rows randomly permuted: the operator
of labels independent of the inputs, whose bulk a real signal must leave.

Nothing here knows about estimators or plotting: the caller codes the labels
(``_base.operator_labels``) and passes plain arrays.
"""

import numpy as np
from scipy import linalg

from ._features import ArrayRows, LiftedRows
from ._spectral import _eigenvalue_rtol, _eligible, _order, _squared_unfolding, label_moments, serial_blas
from ._stack import transform_layers


def layer_input(X, weights, normalizers, components, activation, degree, layer, n_threads=1):
    """The representation layer ``layer`` (0-based) reads: ``X`` replayed through the layers before it."""
    if layer == 0:
        return X
    return transform_layers(X, weights[:layer], normalizers[:layer], components[:layer], activation, degree,
                            n_threads)


def lifted_rows(H, weights, normalizer, activation, degree, n_threads=1):
    """The layer's lifted features as the fit hands them to the operator (centred rows plus offset)."""
    return LiftedRows(ArrayRows(H), weights, normalizer, activation, degree, n_threads, centre=True)


def operator_spectrum(Z, labels, sample_weight, n_threads=1):
    """Whole spectrum of the label-weighted operator of ``Z``, in descending order.

    Parameters
    ----------
    Z : row source or ndarray of shape (n, P)
        Lifted features (:func:`lifted_rows`).
    labels : ndarray of shape (n, m)
        Operator labels, coded, centred and scaled by the caller.
    sample_weight : ndarray of shape (n,)

    Returns
    -------
    values : ndarray of shape (P,)
        Signed eigenvalues (m = 1) or singular values of the unfolding
        (m > 1), descending, in float64.
    """
    T = label_moments(Z, labels.astype(Z.dtype, copy=False), sample_weight, n_threads)
    operator = T[0] if T.shape[0] == 1 else _squared_unfolding(T)
    del T
    with serial_blas():
        values = linalg.eigvalsh(operator, driver="evd", check_finite=False)
    values = values.astype(np.float64)[::-1]
    if labels.shape[1] > 1:
        # the square is positive semi-definite: negative values are rounding
        values = np.sqrt(np.clip(values, 0.0, None))
    return np.ascontiguousarray(values)


def layer_spectra(Z, labels, null_labels, sample_weight, n_threads=1):
    """Spectrum of the true labels and one spectrum per entry of ``null_labels``.

    Returns
    -------
    values : ndarray of shape (P,)
    null_values : ndarray of shape (len(null_labels), P)
        Each row descending.
    """
    values = operator_spectrum(Z, labels, sample_weight, n_threads)
    null_values = np.empty((len(null_labels), values.size))
    for row, shuffled in enumerate(null_labels):
        null_values[row] = operator_spectrum(Z, shuffled, sample_weight, n_threads)
    return values, null_values


def kept_indices(values, n_kept, selection, vector_label, dtype):
    """Indices into ``values`` of the directions a layer keeps, in selection order.

    The rule of ``_spectral.top_directions``: rank by ``|eigenvalue|`` (or
    only one sign), drop numerically-zero directions, keep ``n_kept``.
    ``dtype`` is that of the fit (it sets the zero tolerance).
    """
    rtol = _eigenvalue_rtol(np.dtype(dtype))
    if vector_label:
        selection = "positive"
        rtol = max(rtol, np.sqrt(_eigenvalue_rtol(np.float64)))
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    order = _order(values, selection, rtol * scale)
    keep = order[_eligible(values[order], selection, rtol * scale)][:n_kept]
    if keep.size == 0:  # the fit keeps one direction of a zero operator
        keep = order[:1]
    return keep
