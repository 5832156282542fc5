"""The code of doc/distributed.rst runs as written.

The page's Python blocks, in order: a grid search on a local cluster (a script,
run as one), the same search on a cluster given by its address, and an
out-of-core fit and lazy prediction from folders of ``.npy`` files. The
example address is replaced with the address of a two-worker ``LocalCluster``,
and the example data folder ``/data`` with a temporary one; nothing else of the
blocks is changed.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")  # the distributed extra; in the test extra, so CI runs this

import dask.array as da  # noqa: E402
from distributed import LocalCluster  # noqa: E402

pytestmark = pytest.mark.timeout(180)

PAGE = Path(__file__).resolve().parents[1] / "doc" / "distributed.rst"
EXAMPLE_ADDRESS = '"tcp://scheduler.example.org:8786"'
EXAMPLE_FOLDER = '"/data/'


def _python_blocks():
    """The bodies of the page's ``.. code-block:: python`` directives, dedented."""
    blocks = []
    for match in re.finditer(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", PAGE.read_text(), re.MULTILINE):
        blocks.append("\n".join(line[4:] for line in match.group(1).splitlines()).strip() + "\n")
    return blocks


BLOCKS = _python_blocks()


def test_the_page_has_the_three_recipes():
    assert len(BLOCKS) == 3, BLOCKS
    assert "LocalCluster(" in BLOCKS[0] and EXAMPLE_ADDRESS in BLOCKS[1] and EXAMPLE_ADDRESS in BLOCKS[2]
    assert BLOCKS[2].count(EXAMPLE_FOLDER) == 4


@pytest.fixture(scope="module")
def scheduler_address():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1", scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster:
        yield f'"{cluster.scheduler_address}"'


def test_local_cluster_recipe_runs_as_a_script(tmp_path):
    script = tmp_path / "grid_search_on_dask.py"
    script.write_text(BLOCKS[0])
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=170, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    best_params, best_score = run.stdout.strip().splitlines()[-1].rsplit("} ", 1)
    assert best_params.startswith("{'degree': ")
    assert 0.9 < float(best_score) <= 1.0  # breast cancer: a poor fit would still beat 0.63


def test_cluster_address_recipe(scheduler_address):
    namespace = {"__name__": "recipe"}  # the first block's data and grid, not its guarded search
    exec(compile(BLOCKS[0], "distributed.rst block 1", "exec"), namespace)
    exec(compile(BLOCKS[1].replace(EXAMPLE_ADDRESS, scheduler_address), "distributed.rst block 2", "exec"),
         namespace)
    search = namespace["search"]
    assert len(search.cv_results_["params"]) == 8
    assert 0.9 < search.best_score_ <= 1.0


# head_width=2048: the readout's passes share a 32 MiB rotation, which must reach the
# workers without passing through the scheduler's graph
@pytest.mark.filterwarnings("error:Sending large graph")
def test_out_of_core_recipe(scheduler_address, tmp_path, capsys):
    rng = np.random.RandomState(0)
    for part, n_rows in [("train", 4000), ("test", 2000)]:
        X = rng.standard_normal((n_rows, 10))
        y = (X[:, 0] * X[:, 1] + 0.5 * (X[:, 2] ** 2 - 1) > 0).astype(np.int64)
        (tmp_path / part).mkdir()
        da.to_npy_stack(tmp_path / part / "X", da.from_array(X, chunks=(1000, 10)))
        da.to_npy_stack(tmp_path / part / "y", da.from_array(y, chunks=1000))
    block = BLOCKS[2].replace(EXAMPLE_ADDRESS, scheduler_address).replace(EXAMPLE_FOLDER, f'"{tmp_path}/')
    namespace = {"__name__": "recipe"}
    exec(compile(block, "distributed.rst block 3", "exec"), namespace)
    assert namespace["model"].n_features_in_ == 10
    assert isinstance(namespace["y_pred"], da.Array)
    accuracy = float(capsys.readouterr().out.rsplit(":", 1)[1])
    # a degree-2 planted label: a linear model scores about 0.5 here
    assert 0.75 < accuracy <= 1.0
