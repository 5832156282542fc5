"""Docstring examples, example scripts and the Sphinx build run as written."""

import doctest
import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_lofi

ROOT = Path(__file__).resolve().parents[1]
MODULES = [name for _, name, _ in pkgutil.iter_modules(sklearn_lofi.__path__, "sklearn_lofi.")
           if not name.endswith("__main__")]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module_name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0


def test_every_public_estimator_has_a_runnable_example():
    for name in sklearn_lofi.__all__:
        obj = getattr(sklearn_lofi, name)
        if isinstance(obj, type):
            assert ">>>" in obj.__doc__, name


def test_numpydoc_parameters_match_signatures():
    numpydoc = pytest.importorskip("numpydoc.docscrape")
    import inspect

    for name in sklearn_lofi.__all__:
        obj = getattr(sklearn_lofi, name)
        if not isinstance(obj, type):
            continue
        documented = [p.name for p in numpydoc.ClassDoc(obj)["Parameters"]]
        assert documented == list(inspect.signature(obj).parameters), name


@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_scripts_run(script):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                            timeout=600, cwd=str(ROOT))
    assert result.returncode == 0, result.stderr[-3000:]


def test_sphinx_builds(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(tmp_path / "doctrees"), str(ROOT / "doc"),
         str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600, cwd=str(ROOT),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line or "CRITICAL" in line]
    assert not errors, "\n".join(errors)
    assert (tmp_path / "html" / "api.html").exists()
