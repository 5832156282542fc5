"""Docstring examples, example scripts and the Sphinx build run as written."""

import doctest
import importlib
import inspect
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_lofi

ROOT = Path(__file__).resolve().parents[1]

# Every module of the package, subpackages included (sklearn_lofi.datasets, ...).
MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(sklearn_lofi.__path__, "sklearn_lofi.")
                 if not name.endswith("__main__"))

# Namespaces whose ``__all__`` is public API; the optional ones are skipped
# until they exist.
PUBLIC_NAMESPACES = ["sklearn_lofi", "sklearn_lofi.datasets", "sklearn_lofi.inspection"]


def _public_objects():
    objects = []
    for module_name in PUBLIC_NAMESPACES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # the module exists but one of its imports is missing
                raise
            continue
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                objects.append(pytest.param(obj, id=f"{module_name}.{name}"))
    return objects


PUBLIC_OBJECTS = _public_objects()


def test_module_list_covers_subpackages():
    assert "sklearn_lofi.datasets" in MODULES
    assert any(name.startswith("sklearn_lofi.datasets.") for name in MODULES)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module_name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0


@pytest.mark.parametrize("obj", PUBLIC_OBJECTS)
def test_every_public_estimator_has_a_runnable_example(obj):
    # The doctest of the object's own module runs it (test_docstring_examples).
    assert obj.__doc__ and ">>>" in obj.__doc__, obj.__qualname__


@pytest.mark.parametrize("obj", PUBLIC_OBJECTS)
def test_docstrings_carry_no_template_escapes(obj):
    # shared parameter blocks are filled in with str.replace, so a class docstring's
    # own braces must not be doubled as for str.format ('{{"same", "valid"}}')
    assert "{{" not in obj.__doc__ and "{params}" not in obj.__doc__, obj.__qualname__


@pytest.mark.parametrize("obj", PUBLIC_OBJECTS)
def test_every_public_object_is_in_the_api_reference(obj):
    # An autosummary entry under the right ``currentmodule`` gives it a page that references can reach.
    current, listed = None, set()
    for line in (ROOT / "doc" / "api.rst").read_text().splitlines():
        if line.startswith(".. currentmodule::"):
            current = line.split("::")[1].strip()
        elif line.startswith("   ") and line.strip().isidentifier():
            listed.add(f"{current}.{line.strip()}")
    namespace = next(m for m in reversed(PUBLIC_NAMESPACES) if obj.__name__ in importlib.import_module(m).__all__)
    assert f"{namespace}.{obj.__name__}" in listed, f"{namespace}.{obj.__name__} is not in doc/api.rst"


@pytest.mark.parametrize("obj", PUBLIC_OBJECTS)
def test_numpydoc_parameters_match_signatures(obj):
    docscrape = pytest.importorskip("numpydoc.docscrape")
    doc = docscrape.ClassDoc(obj) if inspect.isclass(obj) else docscrape.FunctionDoc(obj)
    documented = [p.name for p in doc["Parameters"]]
    # Keyword-only markers and ``*args`` are not parameters a user passes by name.
    signature = [name for name, p in inspect.signature(obj).parameters.items()
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert documented == signature, obj.__qualname__
    if inspect.isfunction(obj):
        assert doc["Returns"] or doc["Yields"], f"{obj.__qualname__}: no Returns section"


@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_scripts_run(script):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                            timeout=600, cwd=str(ROOT), check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def test_gallery_examples_have_a_title_and_cells():
    # sphinx-gallery takes the title from the module docstring's first
    # underlined line and splits the script at "# %%" markers.
    for script in sorted((ROOT / "examples").glob("plot_*.py")):
        text = script.read_text()
        docstring = text.split('"""')[1] if text.startswith('"""') else ""
        lines = [line for line in docstring.strip().splitlines()]
        assert len(lines) >= 2 and set(lines[1]) == {"="} and len(lines[1]) >= len(lines[0]), script.name
        assert "\n# %%" in text, script.name


def test_sphinx_builds(tmp_path):
    """The fast build (examples rendered, not run) succeeds with no warning at all.

    The sources are copied first, so that the files the build generates
    (API stubs, the gallery's pages) land in the temporary folder and not in
    the checkout, where another build may be running.
    """
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("sphinx_gallery")
    generated = shutil.ignore_patterns("_build", "generated", "auto_examples", "gen_modules",
                                       "sg_execution_times.rst", "__pycache__")
    shutil.copytree(ROOT / "doc", tmp_path / "doc", ignore=generated)
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=generated)
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-D", "plot_gallery=0",
         "-d", str(tmp_path / "doctrees"), str(tmp_path / "doc"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600, cwd=str(tmp_path), env=env, check=False,
    )
    problems = [line for line in result.stderr.splitlines()
                if any(word in line for word in ("WARNING", "ERROR", "CRITICAL"))]
    assert result.returncode == 0 and not problems, "\n".join(problems) or result.stderr[-3000:]
    html = tmp_path / "html"
    for page in ["index", "api", "user_guide", "paper", "auto_examples/index"]:
        assert (html / f"{page}.html").exists(), page
    for script in (ROOT / "examples").glob("plot_*.py"):
        assert (html / "auto_examples" / f"{script.stem}.html").exists(), script.name
    # Fast mode renders the examples without running them.
    assert not list((tmp_path / "doc" / "auto_examples" / "images").glob("sphx_glr_*_001.png"))
