"""Fixtures shared by the test modules."""

import os

import pytest


@pytest.fixture(autouse=True, scope="module")
def _environment_restored():
    """Give every test module the environment variables it started with.

    Dask's nanny sets its ``pre-spawn-environ`` (``OMP_NUM_THREADS=1`` and
    the like) in the environment of the process that starts a
    ``LocalCluster`` and leaves them there (dask/distributed#6681): every
    process a later test starts (a script, loky's workers) would then run one
    BLAS thread, and a prediction computed in it would differ in its last bits
    from the same prediction computed here.
    """
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)
