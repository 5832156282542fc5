"""Speed-up of the current core against the foundation implementation.

The foundation issue's code is commit 2800233 (tagged ``foundation``).
The script checks it out into a temporary git worktree and times the same fits
with both versions, each in a fresh subprocess (same data, same parameters,
one warm-up fit for compilation, then the best of ``--repeats`` timed fits),
alternating the two versions so that drifts in machine load hit both.

Settings (D = 64 standard Gaussian inputs, label sign(x0 x1), float64 unless
stated):

- ``layer-4096``: ``LoFiTransformer(n_layers=2, width=4096, n_components=64)``, n = 10^4;
- ``layer-8192``: the same at width 8192;
- ``classifier-default``: ``NeuralLoFiClassifier()`` (defaults), n = 10^4;
- ``classifier-float32``: the same on float32 input;
- ``classifier-multiclass``: defaults, 10 classes (``letter``-like coding), n = 10^4;
- ``readout-500-alphas``: ``NeuralLoFiRegressor(n_layers=0, head_width=1000, alpha=500 candidates)``, n = 2000.

Run::

    python benchmarks/speedup.py --json benchmarks/results/speedup.json

Small version::

    python benchmarks/speedup.py --quick
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOUNDATION = "2800233"  # the foundation issue's last commit (git tag "foundation" locally)

SETTINGS = {
    "layer-4096": ("LoFiTransformer", dict(n_layers=2, width=4096, n_components=64), 10_000, 2, "float64"),
    "layer-8192": ("LoFiTransformer", dict(n_layers=2, width=8192, n_components=64), 10_000, 2, "float64"),
    "classifier-default": ("NeuralLoFiClassifier", {}, 10_000, 2, "float64"),
    "classifier-float32": ("NeuralLoFiClassifier", {}, 10_000, 2, "float32"),
    "classifier-multiclass": ("NeuralLoFiClassifier", {}, 10_000, 10, "float64"),
    "readout-500-alphas": ("NeuralLoFiRegressor", dict(n_layers=0, head_width=1000, alpha="grid500"), 2000, 0,
                           "float64"),
}
QUICK = {
    "layer-1024": ("LoFiTransformer", dict(n_layers=2, width=1024, n_components=32), 3000, 2, "float64"),
    "readout-100-alphas": ("NeuralLoFiRegressor", dict(n_layers=0, head_width=300, alpha="grid100"), 600, 0,
                           "float64"),
}

TIMER = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import sklearn_lofi
    from sklearn_lofi import {estimator}
    params = json.loads(sys.argv[1]); n_rows, n_classes, dtype, repeats = json.loads(sys.argv[2])
    if isinstance(params.get("alpha"), str):
        params["alpha"] = np.logspace(-6, 6, int(params["alpha"][4:]))
    rng = np.random.RandomState(0)
    X = rng.standard_normal((n_rows, 64)).astype(dtype)
    if n_classes == 0:
        y = X[:, 0] * X[:, 1] + 0.1 * rng.standard_normal(n_rows)
    elif n_classes == 2:
        y = (X[:, 0] * X[:, 1] > 0).astype(int)
    else:
        y = np.digitize(X[:, 0] * X[:, 1] + X[:, 2], np.quantile(X[:, 0] * X[:, 1] + X[:, 2],
                        np.linspace(0, 1, n_classes + 1)[1:-1]))
    model = {estimator}(random_state=0, **params)
    model.fit(X[:500], y[:500])  # compilation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(X, y)
        times.append(time.perf_counter() - start)
    print(json.dumps({{"seconds": min(times), "module": sklearn_lofi.__file__}}))
""")


def time_fit(tree, estimator, params, n_rows, n_classes, dtype, repeats):
    env = {**os.environ, "PYTHONPATH": tree, "PYTHONWARNINGS": "ignore"}
    output = subprocess.run(
        [sys.executable, "-c", TIMER.format(estimator=estimator), json.dumps(params),
         json.dumps([n_rows, n_classes, dtype, repeats])],
        env=env, cwd=tree, capture_output=True, text=True, check=True,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    if not result["module"].startswith(tree):
        raise RuntimeError(f"imported {result['module']}, expected the package under {tree}")
    return result["seconds"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=FOUNDATION, help="git revision of the old implementation")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--only", nargs="+", help="run these settings only")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else SETTINGS
    if args.only:
        settings = {name: settings[name] for name in args.only}

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        old_tree = os.path.join(scratch, "reference")
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", old_tree, args.reference],
                       check=True, capture_output=True)
        try:
            commit = subprocess.run(["git", "-C", old_tree, "rev-parse", "--short", "HEAD"], check=True,
                                    capture_output=True, text=True).stdout.strip()
            print(f"reference {args.reference} ({commit}) against the working tree {ROOT}")
            print(f"{'setting':<24} {'reference s':>11} {'current s':>10} {'speed-up':>9}")
            for name, (estimator, params, n_rows, n_classes, dtype) in settings.items():
                spec = (estimator, params, n_rows, n_classes, dtype, args.repeats)
                old = time_fit(old_tree, *spec)
                new = time_fit(ROOT, *spec)
                rows.append({"setting": name, "estimator": estimator, "params": params, "n_rows": n_rows,
                             "n_classes": n_classes, "dtype": dtype, "reference_seconds": old,
                             "current_seconds": new, "speedup": old / new})
                print(f"{name:<24} {old:>11.2f} {new:>10.2f} {old / new:>8.1f}x", flush=True)
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", old_tree], capture_output=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"reference": args.reference, "rows": rows}, handle, indent=2)
    return rows


if __name__ == "__main__":
    main()
