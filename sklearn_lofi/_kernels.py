"""Compiled (numba) kernels for what BLAS cannot fuse.

The lift ``Z = sigma(H W / c) / sqrt(P)`` is a BLAS product followed by an
element-wise pass. That pass is done here, in place on the product, so that the
n x P array is written once: compiled for ReLU, erf and the Hermite-truncated
series (where numba wins, benchmarks/kernels.py), NumPy/SciPy ufuncs for tanh
and the sigmoid (where the vectorised ufuncs win). Row weighting by labels and
sample weights (:func:`scale_rows`, :func:`label_weighted_blocks`,
:func:`centre_scale_rows`) is compiled too: NumPy's broadcast multiply is
slower on these shapes. A weighted second moment ``Z^T diag(r) Z`` stays a
BLAS product: a compiled chunked accumulation was several times slower
(doc/performance.rst has every measured ratio).

Every kernel is compiled twice from the same Python source, serial and
``parallel=True``; the parallel one is used only when more than one numba
thread is allowed. Work is split by rows (or fixed blocks of rows) and every
output element is computed by the same operations in the same order whatever
the split, so results do not depend on the thread count. Each kernel has a
plain NumPy twin (``*_numpy``) that the tests compare it with.

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

from ._activations import (
    ACTIVATION_CODES,
    activation_function,
    hermite_coefficients,
    hermite_series,
)


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


def _activate_rows(A, code, scale):
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
        else:  # erf
            for j in range(n_cols):
                row[j] = math.erf(row[j]) * scale


# Rows per block of the Hermite kernel: one set of scratch rows is allocated per
# block (allocating per row inside a parallel loop made two threads slower
# than one).
_HERMITE_BLOCK_ROWS = 64


def _hermite_rows(A, coefficients, roots, clip, scale):
    # sum_k c_k h_k(t) at t = clip(A, -clip, clip), then times scale, with
    # h_{k+1} = (t h_k - sqrt(k) h_{k-1}) / sqrt(k + 1) and roots[k] = sqrt(k).
    # Everything (coefficients, roots, clip, scale) comes in A's dtype, so a
    # float32 A is computed in float32 (no float64 constants in the loop), and
    # the recurrence runs one degree at a time over a whole row: the loop over
    # columns has no dependency between iterations and is vectorised. The
    # operations and their order are those of ``hermite_series``, so the result
    # equals the NumPy twin exactly in both dtypes.
    n_rows, n_cols = A.shape
    degree = coefficients.shape[0] - 1
    n_blocks = (n_rows + _HERMITE_BLOCK_ROWS - 1) // _HERMITE_BLOCK_ROWS
    for block in numba.prange(n_blocks):
        t = np.empty(n_cols, A.dtype)
        h_prev = np.empty(n_cols, A.dtype)
        h_curr = np.empty(n_cols, A.dtype)
        c0 = coefficients[0]
        for i in range(block * _HERMITE_BLOCK_ROWS, min(n_rows, (block + 1) * _HERMITE_BLOCK_ROWS)):
            row = A[i]
            if degree == 0:
                for j in range(n_cols):
                    row[j] = c0 * scale
                continue
            c1 = coefficients[1]
            for j in range(n_cols):
                x = min(max(row[j], -clip), clip)
                t[j] = x
                h_prev[j] = 1
                h_curr[j] = x
                row[j] = c0 + c1 * x
            for k in range(1, degree):
                root_k = roots[k]
                root_next = roots[k + 1]
                c_next = coefficients[k + 1]
                for j in range(n_cols):
                    h_next = (t[j] * h_curr[j] - root_k * h_prev[j]) / root_next
                    row[j] += c_next * h_next
                    h_prev[j] = h_curr[j]
                    h_curr[j] = h_next
            for j in range(n_cols):
                row[j] *= scale


def _scale_rows(A, weights, out):
    n_rows, n_cols = A.shape
    for i in numba.prange(n_rows):
        w = weights[i]
        for j in range(n_cols):
            out[i, j] = A[i, j] * w


def _centre_scale_rows(A, offset, weights, out):
    n_rows, n_cols = A.shape
    for i in numba.prange(n_rows):
        w = weights[i]
        for j in range(n_cols):
            out[i, j] = (A[i, j] - offset[j]) * w


def _label_blocks(ZV, R, out):
    n_rows, n_cols = ZV.shape
    n_blocks = R.shape[1]
    for i in numba.prange(n_rows):
        for c in range(n_blocks):
            r = R[i, c]
            offset = c * n_cols
            for j in range(n_cols):
                out[i, offset + j] = r * ZV[i, j]


def _extract_patches(images, start, geometry, out):
    # geometry: image height, width, channels, patch height, width, stride,
    # top and left zero padding, output map height and width
    height, width, channels, patch_height, patch_width, stride, pad_top, pad_left, out_height, out_width = geometry
    positions = out_height * out_width
    for r in numba.prange(out.shape[0]):
        patch = start + r
        image = patch // positions
        position = patch - image * positions
        top = (position // out_width) * stride - pad_top
        left = (position % out_width) * stride - pad_left
        k = 0
        for dy in range(patch_height):
            row = top + dy
            for dx in range(patch_width):
                col = left + dx
                if 0 <= row < height and 0 <= col < width:
                    base = (row * width + col) * channels
                    for c in range(channels):
                        out[r, k + c] = images[image, base + c]
                else:
                    for c in range(channels):
                        out[r, k + c] = 0
                k += channels


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


def _compile(function):
    """Serial and parallel dispatchers of one Python function (lazy, cached)."""
    serial = numba.njit(_twin(function, "_serial"), cache=_CACHE, nogil=True)
    parallel = numba.njit(_twin(function, "_parallel"), cache=_CACHE, nogil=True, parallel=True)
    return serial, parallel


_activate_kernels = _compile(_activate_rows)
_hermite_kernels = _compile(_hermite_rows)
_scale_rows_kernels = _compile(_scale_rows)
_centre_scale_rows_kernels = _compile(_centre_scale_rows)
_label_blocks_kernels = _compile(_label_blocks)
_patch_kernels = _compile(_extract_patches)


def _pick(kernels, n_threads):
    return kernels[1] if n_threads > 1 else kernels[0]


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
    dtype = A.dtype.type
    if degree is None:
        _pick(_activate_kernels, n_threads)(A, ACTIVATION_CODES[activation], dtype(scale))
        return A
    coefficients = hermite_coefficients(activation, degree).astype(A.dtype)
    # sqrt(k) rounded once to A's dtype: the same constants that NumPy uses
    # when ``hermite_series`` multiplies a float32 array by math.sqrt(k).
    roots = np.sqrt(np.arange(degree + 1, dtype=np.float64)).astype(A.dtype)
    _pick(_hermite_kernels, n_threads)(A, coefficients, roots, dtype(HERMITE_CLIP), dtype(scale))
    return A


def apply_activation_numpy(A, activation, degree, scale):
    """NumPy twin of :func:`apply_activation_` (returns a new array)."""
    if degree is None:
        out = activation_function(activation)(A)
    else:
        clipped = np.clip(A, -HERMITE_CLIP, HERMITE_CLIP)
        out = hermite_series(clipped, hermite_coefficients(activation, degree).astype(A.dtype))
    return (out * scale).astype(A.dtype, copy=False)


def _weights_vector(weights, n_rows, dtype):
    weights = np.ascontiguousarray(weights, dtype=dtype)
    if weights.shape != (n_rows,):
        raise ValueError(f"weights must have shape ({n_rows},), got {weights.shape}.")
    return weights


def scale_rows(A, weights, n_threads=1, *, out=None):
    """Row weighting ``out[i, :] = weights[i] * A[i, :]``.

    Parameters
    ----------
    A : ndarray of shape (n, p), float32 or float64
    weights : array-like of shape (n,)
        Cast to ``A.dtype`` (a float32 ``A`` stays float32).
    n_threads : int, default=1
        numba threads allowed (``sklearn_lofi._threads.numba_threads``); the
        parallel kernel runs only when it is above 1. The result is the same
        for every value.
    out : ndarray of shape (n, p) and dtype ``A.dtype``, optional
        Where to write; ``out=A`` scales in place. A new array by default.

    Returns
    -------
    out : ndarray of shape (n, p)
        Equal, element for element, to ``A * weights[:, None]``.
    """
    if A.ndim != 2:
        raise ValueError(f"A must be 2-D, got shape {A.shape}.")
    weights = _weights_vector(weights, A.shape[0], A.dtype)
    if out is None:
        out = np.empty_like(A, order="C")
    elif out.shape != A.shape or out.dtype != A.dtype:
        raise ValueError(f"out must have shape {A.shape} and dtype {A.dtype}.")
    _pick(_scale_rows_kernels, n_threads)(A, weights, out)
    return out


def scale_rows_numpy(A, weights, *, out=None):
    """NumPy twin of :func:`scale_rows`."""
    weights = np.asarray(weights, dtype=A.dtype)
    return np.multiply(A, weights[:, None], out=out)


def centre_scale_rows(A, offset, weights, n_threads=1):
    """Centring and row weighting in one pass: ``(A - offset) * weights[:, None]``.

    The readout's rescaled features ``sqrt(w) (X - x_w)`` (:mod:`._ridge`):
    NumPy makes two passes and an n x p temporary.

    Parameters
    ----------
    A : ndarray of shape (n, p), float32 or float64
    offset : array-like of shape (p,)
        Subtracted from every row; cast to ``A.dtype``.
    weights : array-like of shape (n,)
        Multiplies row ``i`` after the subtraction; cast to ``A.dtype``.
    n_threads : int, default=1
        numba threads allowed; the result is the same for every value.

    Returns
    -------
    out : ndarray of shape (n, p), C-contiguous, dtype ``A.dtype``
        Equal, element for element, to :func:`centre_scale_rows_numpy`.
    """
    if A.ndim != 2:
        raise ValueError(f"A must be 2-D, got shape {A.shape}.")
    offset = np.ascontiguousarray(offset, dtype=A.dtype)
    if offset.shape != (A.shape[1],):
        raise ValueError(f"offset must have shape ({A.shape[1]},), got {offset.shape}.")
    weights = _weights_vector(weights, A.shape[0], A.dtype)
    out = np.empty(A.shape, dtype=A.dtype)
    _pick(_centre_scale_rows_kernels, n_threads)(A, offset, weights, out)
    return out


def centre_scale_rows_numpy(A, offset, weights):
    """NumPy twin of :func:`centre_scale_rows`."""
    return (A - np.asarray(offset, dtype=A.dtype)) * np.asarray(weights, dtype=A.dtype)[:, None]


def label_weighted_blocks(ZV, R, n_threads=1, *, out=None):
    """Row weighting of one block by several weight columns, side by side.

    Parameters
    ----------
    ZV : ndarray of shape (n, b), float32 or float64
    R : array-like of shape (n, m)
        One column of row weights per block (for example sample weight times
        label ``c``); cast to ``ZV.dtype``.
    n_threads : int, default=1
        numba threads allowed; the result is the same for every value.
    out : ndarray of shape (n, m * b) and dtype ``ZV.dtype``, optional
        Where to write; a new C-contiguous array by default.

    Returns
    -------
    out : ndarray of shape (n, m * b)
        Block ``c`` (columns ``c * b`` to ``(c + 1) * b``) is
        ``R[:, c:c + 1] * ZV``, so that ``Z.T @ out`` gives all ``m`` products
        ``Z^T diag(R[:, c]) Z V`` in one matrix product.
    """
    if ZV.ndim != 2:
        raise ValueError(f"ZV must be 2-D, got shape {ZV.shape}.")
    R = np.ascontiguousarray(R, dtype=ZV.dtype)
    if R.ndim == 1:
        R = R[:, None]
    if R.ndim != 2 or R.shape[0] != ZV.shape[0]:
        raise ValueError(f"R must have shape ({ZV.shape[0]}, m), got {R.shape}.")
    n, b = ZV.shape
    shape = (n, R.shape[1] * b)
    if out is None:
        out = np.empty(shape, dtype=ZV.dtype)
    elif out.shape != shape or out.dtype != ZV.dtype:
        raise ValueError(f"out must have shape {shape} and dtype {ZV.dtype}.")
    _pick(_label_blocks_kernels, n_threads)(ZV, R, out)
    return out


def label_weighted_blocks_numpy(ZV, R):
    """NumPy twin of :func:`label_weighted_blocks`."""
    R = np.asarray(R, dtype=ZV.dtype)
    if R.ndim == 1:
        R = R[:, None]
    n, b = ZV.shape
    return (R[:, :, None] * ZV[:, None, :]).reshape(n, R.shape[1] * b)


def extract_patches(images, geometry, rows, n_threads=1):
    """Rows ``rows`` (a slice) of the patch matrix of ``images``.

    ``images`` is C-contiguous of shape (n, height * width * channels), each
    row an image in (height, width, channel) order; ``geometry`` is an int64
    array of the ten numbers of ``_patches.PatchGeometry``. Patch row
    ``i * positions + s`` is the patch of image ``i`` at output position ``s``
    (row-major), flattened in (dy, dx, channel) order, zero outside the image.
    """
    start, stop = rows.indices(int(images.shape[0] * geometry[8] * geometry[9]))[:2]
    out = np.empty((max(stop - start, 0), int(geometry[3] * geometry[4] * geometry[2])), dtype=images.dtype)
    _pick(_patch_kernels, n_threads)(images, start, geometry, out)
    return out


def extract_patches_numpy(images, geometry, rows):
    """NumPy twin of :func:`extract_patches`."""
    height, width, channels, patch_height, patch_width, stride, pad_top, pad_left, out_height, out_width = (
        int(v) for v in geometry)
    n = images.shape[0]
    padded = np.zeros((n, height + patch_height + stride * out_height, width + patch_width + stride * out_width,
                       channels), dtype=images.dtype)
    padded[:, pad_top:pad_top + height, pad_left:pad_left + width] = images.reshape(n, height, width, channels)
    patches = np.empty((n, out_height, out_width, patch_height, patch_width, channels), dtype=images.dtype)
    for oy in range(out_height):
        for ox in range(out_width):
            patches[:, oy, ox] = padded[:, oy * stride:oy * stride + patch_height,
                                        ox * stride:ox * stride + patch_width]
    return patches.reshape(n * out_height * out_width, -1)[rows]
