"""Tabulate real-data runs of several Neural LoFi settings side by side.

Each argument is ``LABEL=FILE.json``, a file written by
``python benchmarks/real_data.py --json FILE.json`` (any models). Every
(label, model) pair becomes a column of mean cross-validated scores; the best
of each row is marked. Used for the evidence behind the defaults
(doc/benchmarks.rst)::

    python benchmarks/defaults_table.py "1 layer, K=32=runs/l1k32.json" ...
"""

import argparse
import json

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="LABEL=FILE.json")
    parser.add_argument("--models", default="lofi,baseline", help="models to show from each file")
    args = parser.parse_args(argv)
    wanted = args.models.split(",")
    columns, datasets = [], []
    for run in args.runs:
        label, path = run.rsplit("=", 1)
        with open(path) as handle:
            results = json.load(handle)["results"]
        for model in wanted:
            if any(model in entry["models"] for entry in results.values()):
                columns.append((f"{label}: {model}", results, model))
        datasets += [name for name in results if name not in datasets]
    header = ["dataset"] + [name for name, _, _ in columns]
    rows = []
    wins = np.zeros(len(columns))
    for dataset in datasets:
        means = [np.mean(results[dataset]["models"][model]["scores"])
                 if dataset in results and model in results[dataset]["models"] else np.nan
                 for _, results, model in columns]
        best = np.nanmax(means)
        wins += np.isclose(means, best)
        rows.append([dataset] + [("**%.3f**" if np.isclose(m, best) else "%.3f") % m if np.isfinite(m) else "—"
                                 for m in means])
    rows.append(["best of row"] + [str(int(w)) for w in wins])
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    print(rule)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print(rule)
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    print(rule)


if __name__ == "__main__":
    main()
