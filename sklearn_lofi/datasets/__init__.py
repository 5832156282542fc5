"""Data for reproducing the paper: synthetic targets with planted structure, and a CIFAR-10 reader.

Nothing here downloads anything: the generators draw their data, and the
CIFAR-10 reader takes the path of files already on disk.
"""

from ._cifar import load_cifar10
from ._synthetic import (
    hidden_features,
    make_graded_quadratic_indices,
    make_quadratic_index,
    make_quadratic_of_quadratics,
)

__all__ = [
    "hidden_features",
    "load_cifar10",
    "make_graded_quadratic_indices",
    "make_quadratic_index",
    "make_quadratic_of_quadratics",
]
