"""Every benchmark script runs in a small version (the full runs are on demand, see doc/benchmarks.rst)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(ROOT, "benchmarks")
RESULTS = os.path.join(BENCHMARKS, "results")

SMALL_VERSIONS = {
    "alternatives.py": ["--quick"],
    "cifar10.py": ["--quick"],
    "convergence.py": ["--quick"],
    "convolutional.py": ["--quick"],
    "defaults_table.py": [f"K=32={os.path.join(RESULTS, 'l1k32.json')}", f"K=64={os.path.join(RESULTS, 'l1k64.json')}"],
    "distributed_grid_search.py": ["--quick"],
    "eigensolvers.py": ["--quick"],
    "emergence.py": ["--quick"],
    "floor.py": ["--quick"],
    "hierarchy.py": ["--quick"],
    "kernel_cost.py": ["--quick"],
    "kernels.py": ["--quick"],
    "memory.py": ["--quick"],
    "out_of_core.py": ["--quick"],
    "planted.py": ["--d", "10", "--ratios", "5,10", "--seeds", "1", "--width", "128"],
    "readout.py": ["--quick"],
    "real_data.py": ["--quick"],
    "reference_splits.py": ["--seeds", "1"],
    "scaling.py": ["--quick"],
    "speedup.py": ["--quick"],
}

# Scripts that read the shared CIFAR-10 files and cannot run without them.
CIFAR10 = os.path.join(os.path.dirname(ROOT), "shared", "data", "cifar10")
NEEDS_CIFAR10 = {"cifar10.py"}


def test_every_benchmark_has_a_small_version():
    scripts = sorted(name for name in os.listdir(BENCHMARKS) if name.endswith(".py"))
    assert scripts == sorted(SMALL_VERSIONS)


@pytest.mark.parametrize("script", sorted(SMALL_VERSIONS))
def test_small_version_runs(script, tmp_path):
    arguments = list(SMALL_VERSIONS[script])
    if script == "speedup.py" and subprocess.run(["git", "-C", ROOT, "cat-file", "-e", "2800233^{commit}"],
                                                 capture_output=True).returncode != 0:
        pytest.skip("not a git checkout with the foundation commit")
    if script in NEEDS_CIFAR10 and not os.path.isdir(CIFAR10):
        pytest.skip(f"the shared CIFAR-10 files are not at {CIFAR10}")
    json_path = tmp_path / "out.json"
    with open(os.path.join(BENCHMARKS, script)) as handle:
        writes_json = '"--json"' in handle.read()
    if writes_json:
        arguments += ["--json", str(json_path)]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, os.path.join(BENCHMARKS, script), *arguments], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), "the benchmark printed nothing"
    if writes_json:
        with open(json_path) as handle:
            assert json.load(handle), "empty results"
