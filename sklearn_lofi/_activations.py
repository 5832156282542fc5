"""Activations and their Hermite expansions.

Every lift of Neural LoFi applies a pointwise activation ``sigma`` to
pre-activations that are, by construction, approximately standard Gaussian.
Expanding ``sigma`` in the normalised (probabilists') Hermite basis
``h_k = He_k / sqrt(k!)``, orthonormal under N(0, 1),

    sigma(t) = sum_k c_k h_k(t),    c_k = E[sigma(g) h_k(g)],  g ~ N(0, 1),

shows which polynomial degrees of the previous representation a layer can
select. ``degree=d`` replaces ``sigma`` by the truncation ``sum_{k<=d} c_k h_k``
(the user guide, ``degree``).

The coefficients are computed here without Gauss-Hermite quadrature (closed
forms where they exist, adaptive integration otherwise), so that the test suite
can check them against quadrature as an independent reference.
"""

import math
import warnings
from functools import lru_cache

import numpy as np
from scipy import integrate, special

ACTIVATIONS = ("relu", "erf", "tanh", "sigmoid", "identity")

# Integer codes of the compiled activation kernel (``_kernels.py``).
ACTIVATION_CODES = {"identity": 0, "relu": 1, "erf": 2}  # tanh and sigmoid run as NumPy ufuncs
HERMITE_CODE = 5


def activation_function(name):
    """Return the NumPy implementation of the activation ``name``."""
    return {
        "identity": lambda t: t,
        "relu": lambda t: np.maximum(t, 0),
        "erf": special.erf,
        "tanh": np.tanh,
        "sigmoid": special.expit,
    }[name]


def _hermite_at_zero(j):
    """Probabilists' Hermite polynomial He_j evaluated at 0."""
    if j % 2:
        return 0.0
    # He_{2m}(0) = (-1)^m (2m - 1)!!, with (-1)!! = 1
    return (-1.0) ** (j // 2) * float(np.prod(np.arange(j - 1, 0, -2, dtype=np.float64)))


def _physicists_hermite_at_zero(j):
    """Physicists' Hermite polynomial H_j evaluated at 0."""
    if j % 2:
        return 0.0
    m = j // 2
    return (-1.0) ** m * math.factorial(j) / math.factorial(m)


def _unnormalised_coefficient(name, k):
    """E[sigma(g) He_k(g)] for g ~ N(0, 1)."""
    if name == "identity":
        return 1.0 if k == 1 else 0.0
    if name == "relu":
        # Stein's lemma: E[sigma He_k] = E[sigma^(k)]; relu'' is a Dirac mass at 0,
        # so for k >= 2 the coefficient is phi(0) He_{k-2}(0).
        if k == 0:
            return 1.0 / math.sqrt(2.0 * math.pi)
        if k == 1:
            return 0.5
        return _hermite_at_zero(k - 2) / math.sqrt(2.0 * math.pi)
    if name == "erf":
        # E[erf(g + mu)] = erf(mu / sqrt(3)), hence E[erf^(k)(g)] = 3^(-k/2) erf^(k)(0),
        # and erf^(k)(0) = 2/sqrt(pi) (-1)^(k-1) H_{k-1}(0) (physicists' Hermite).
        if k == 0:
            return 0.0
        derivative_at_zero = (
            2.0 / math.sqrt(math.pi) * (-1.0) ** (k - 1) * _physicists_hermite_at_zero(k - 1)
        )
        return derivative_at_zero / 3.0 ** (k / 2.0)
    # tanh and sigmoid have no closed form: adaptive quadrature of the Gaussian
    # integral, split at the origin where both functions are most curved.
    sigma = activation_function(name)
    he_k = special.hermitenorm(k)

    def integrand(t):
        return sigma(t) * he_k(t) * math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)

    with warnings.catch_warnings():
        # High-degree integrands oscillate and cancel; QUADPACK then reports
        # round-off at the 1e-14 level, far below what the tests demand.
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        left, _ = integrate.quad(integrand, -np.inf, 0.0, limit=400, epsabs=1e-14, epsrel=1e-12)
        right, _ = integrate.quad(integrand, 0.0, np.inf, limit=400, epsabs=1e-14, epsrel=1e-12)
    return left + right


@lru_cache(maxsize=128)
def _cached_coefficients(name, degree):
    coefs = [
        _unnormalised_coefficient(name, k) / math.sqrt(math.factorial(k))
        for k in range(degree + 1)
    ]
    coefs = np.array(coefs, dtype=np.float64)
    # Symmetry makes half of them vanish exactly; quadrature leaves ~1e-17 there.
    coefs[np.abs(coefs) < 1e-15] = 0.0
    coefs.setflags(write=False)
    return coefs


def hermite_coefficients(activation, degree):
    """Normalised Hermite coefficients ``c_0 .. c_degree`` of an activation.

    Parameters
    ----------
    activation : {"relu", "erf", "tanh", "sigmoid", "identity"}
        Name of the activation.
    degree : int
        Highest degree kept.

    Returns
    -------
    coefficients : ndarray of shape (degree + 1,)
        ``c_k = E[sigma(g) He_k(g)] / sqrt(k!)`` for ``g ~ N(0, 1)``, so that
        ``sum_k c_k**2 = E[sigma(g)**2]`` as ``degree`` grows.

    Examples
    --------
    >>> from sklearn_lofi._activations import hermite_coefficients
    >>> hermite_coefficients("identity", 3)
    array([0., 1., 0., 0.])
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; expected one of {ACTIVATIONS}.")
    return _cached_coefficients(activation, int(degree)).copy()


def hermite_series(t, coefficients):
    """Evaluate ``sum_k c_k h_k(t)`` with the stable three-term recurrence.

    ``h_{k+1}(t) = (t h_k(t) - sqrt(k) h_{k-1}(t)) / sqrt(k + 1)`` keeps the
    normalised polynomials at O(1) size for moderate ``t``, unlike the monomial
    form.
    """
    t = np.asarray(t)
    h_prev = np.ones_like(t)
    total = coefficients[0] * h_prev
    if len(coefficients) == 1:
        return total
    h_curr = t.copy()
    total = total + coefficients[1] * h_curr
    for k in range(1, len(coefficients) - 1):
        h_next = (t * h_curr - math.sqrt(k) * h_prev) / math.sqrt(k + 1)
        total = total + coefficients[k + 1] * h_next
        h_prev, h_curr = h_curr, h_next
    return total
