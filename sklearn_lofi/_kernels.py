"""Compiled (numba) kernels for what BLAS cannot fuse.

The lift ``Z = sigma(H W / c) / sqrt(P)`` is a BLAS product followed by an
element-wise pass. That pass is done here, in place on the product, so that the
n x P array is written once: compiled for ReLU, erf and the Hermite-truncated
series (where numba wins, benchmarks/kernels.py), NumPy/SciPy ufuncs for tanh
and the sigmoid (where the vectorised ufuncs win). Every kernel is compiled twice from the same
Python source, serial and ``parallel=True``; the parallel one is used only when
more than one numba thread is allowed. Work is split by rows and every element
is computed independently, so results do not depend on the thread count.

Compilation is lazy (first fit) and cached on disk when a writable cache
location exists; ``SKLEARN_LOFI_NUMBA_CACHE=0`` switches caching off. A
read-only installation without ``NUMBA_CACHE_DIR`` simply compiles each session.
"""

import math
import os
import types

import numba
import numpy as np
from scipy import special

from ._activations import ACTIVATION_CODES, HERMITE_CODE, activation_function, hermite_series


def _cache_enabled():
    if os.environ.get("SKLEARN_LOFI_NUMBA_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if os.environ.get("NUMBA_CACHE_DIR"):
        return True
    # numba writes its cache next to the source file (``__pycache__``); without
    # write access there it would raise "no locator available" at compile time.
    here = os.path.dirname(os.path.abspath(__file__))
    pycache = os.path.join(here, "__pycache__")
    target = pycache if os.path.isdir(pycache) else here
    return os.access(target, os.W_OK)


_CACHE = _cache_enabled()


# Pre-activations are ~N(0, 1) by construction. A truncated Hermite series is
# a polynomial, exact in L2(N(0, 1)) but growing like |t|^degree outside the
# Gaussian bulk, where a few outlying rows would then dominate every later
# normalisation and the operator. The series is therefore evaluated at t
# clipped to [-HERMITE_CLIP, HERMITE_CLIP]: P(|g| > 4) = 6e-5, so the features
# are exact polynomials for all but such outliers, which saturate instead.
HERMITE_CLIP = 4.0


def _activate_rows(A, code, coefficients, scale):
    n_rows, n_cols = A.shape
    for i in numba.prange(n_rows):
        row = A[i]
        if code == 0:  # identity
            for j in range(n_cols):
                row[j] = row[j] * scale
        elif code == 1:  # relu
            for j in range(n_cols):
                t = row[j]
                row[j] = t * scale if t > 0 else 0.0
        elif code == 2:  # erf
            for j in range(n_cols):
                row[j] = math.erf(row[j]) * scale
        else:  # truncated Hermite series, normalised three-term recurrence
            degree = coefficients.shape[0] - 1
            for j in range(n_cols):
                t = min(max(row[j], -HERMITE_CLIP), HERMITE_CLIP)
                h_prev = 1.0
                total = coefficients[0]
                if degree >= 1:
                    h_curr = t
                    total += coefficients[1] * h_curr
                    for k in range(1, degree):
                        h_next = (t * h_curr - math.sqrt(k) * h_prev) / math.sqrt(k + 1.0)
                        total += coefficients[k + 1] * h_next
                        h_prev = h_curr
                        h_curr = h_next
                row[j] = total * scale


def _twin(function, suffix):
    """A copy of ``function`` under another name.

    numba's on-disk cache is keyed by the function's qualified name and line,
    not by the ``parallel`` flag: two dispatchers of the same function would
    share cache files, and the "serial" one could load the parallel machine
    code (seen here: a forked child then died in GNU OpenMP).
    """
    twin = types.FunctionType(function.__code__, function.__globals__, function.__name__ + suffix,
                              function.__defaults__, function.__closure__)
    twin.__qualname__ = function.__qualname__ + suffix
    return twin


_activate_serial = numba.njit(_twin(_activate_rows, "_serial"), cache=_CACHE, nogil=True)
_activate_parallel = numba.njit(_twin(_activate_rows, "_parallel"), cache=_CACHE, nogil=True, parallel=True)


def activation_code(activation, degree):
    """Kernel code and Hermite coefficients for an activation (truncated or not)."""
    from ._activations import hermite_coefficients

    if degree is None:
        return ACTIVATION_CODES[activation], np.zeros(1, dtype=np.float64)
    return HERMITE_CODE, hermite_coefficients(activation, degree)


_NUMPY_UFUNCS = {"tanh": np.tanh, "sigmoid": special.expit}


def apply_activation_(A, activation, degree, scale, n_threads=1):
    """Overwrite ``A`` (C-contiguous, 2-D) with ``scale * sigma(A)``.

    ``sigma`` is ``activation``, or its Hermite truncation at ``degree`` when
    ``degree`` is not None. ``scale`` must be a Python float so that a float32
    ``A`` stays float32.
    """
    if degree is None and activation in _NUMPY_UFUNCS:
        # NumPy's vectorised tanh and SciPy's expit beat a scalar numba loop
        # here (benchmarks/kernels.py: tanh 8x, sigmoid 1.5x faster at n = 10^4,
        # P = 2048), so these run as in-place ufuncs.
        _NUMPY_UFUNCS[activation](A, out=A)
        A *= scale
        return A
    code, coefficients = activation_code(activation, degree)
    coefficients = coefficients.astype(A.dtype)
    kernel = _activate_parallel if n_threads > 1 else _activate_serial
    kernel(A, code, coefficients, A.dtype.type(scale))
    return A


def apply_activation_numpy(A, activation, degree, scale):
    """NumPy twin of :func:`apply_activation_` (returns a new array)."""
    from ._activations import hermite_coefficients

    if degree is None:
        out = activation_function(activation)(A)
    else:
        clipped = np.clip(A, -HERMITE_CLIP, HERMITE_CLIP)
        out = hermite_series(clipped, hermite_coefficients(activation, degree).astype(A.dtype))
    return (out * scale).astype(A.dtype, copy=False)
