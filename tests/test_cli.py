"""Command line (``python -m sklearn_lofi``) and the CSV/TSV reader behind it."""

import csv
import gzip
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

import sklearn_lofi
from sklearn_lofi._cli import main
from sklearn_lofi._data import as_model_input, load_table, make_preprocessor

# Small models so that every run takes a few seconds at most.
SMALL = ["--width", "32", "--head-width", "64", "--n-components", "4", "--folds", "2"]
MODELS = ("lofi", "baseline", "ridge", "mlp")  # the default run
ALL_MODELS = MODELS + ("kernel_lofi", "deep_nngp")


def write_csv(path, header, rows, delimiter=","):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def categorical_rows(n=160, seed=0):
    """A string feature, two numeric ones and string labels that depend on both kinds."""
    rng = np.random.RandomState(seed)
    rows = []
    for _ in range(n):
        colour = ["red", "green", "blue"][rng.randint(3)]
        size = rng.uniform()
        label = "yes" if (colour == "red") != (size > 0.5) else "no"
        rows.append([colour, f"{size:.4f}", f"{rng.normal():.4f}", label])
    return ["colour", "size", "noise", "label"], rows


def regression_rows(n=150, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    y = X[:, 0] * X[:, 1] + 0.5 * X[:, 2] + 0.05 * rng.normal(size=n)
    return ["x1", "x2", "x3", "target"], [[*(repr(float(v)) for v in row), repr(float(t))] for row, t in zip(X, y)]


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_rows(out):
    """First cell of every line of the results table, by model name."""
    return {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in ALL_MODELS}


def assert_one_line_error(code, err, *needles):
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


# --------------------------------------------------------------------------- runs that work


def test_default_digits_run_prints_table_of_four_models(capsys):
    code, out, err = run(capsys, *SMALL, "--max-rows", "300")
    assert code == 0, err
    assert "digits" in out and "classification" in out and "rows: 300" in out
    assert "subsampled 300 of 1797" in out
    rows = table_rows(out)
    assert set(rows) == set(MODELS)
    for line in rows.values():
        score = float(line.split()[1])
        assert 0.5 < score <= 1.0  # digits: far above chance (0.1) even with tiny models
    # progress: one line per model and fold on stderr
    assert "[lofi] fold 1/2 accuracy" in err and "[mlp] fold 2/2 accuracy" in err


def test_infinite_width_models_on_request(capsys):
    code, out, err = run(capsys, *SMALL, "--max-rows", "300", "--models", "kernel_lofi,deep_nngp,ridge", "--quiet")
    assert code == 0, err
    rows = table_rows(out)
    assert set(rows) == {"kernel_lofi", "deep_nngp", "ridge"}
    assert "KernelLoFiClassifier(n_layers=" in rows["kernel_lofi"] and "head=True" in rows["deep_nngp"]
    for line in rows.values():
        assert 0.5 < float(line.split()[1]) <= 1.0  # digits, chance 0.1; kernel_lofi keeps only 4 directions


def test_an_infinite_width_model_that_does_not_fit_in_memory_is_skipped(capsys, monkeypatch):
    from sklearn_lofi import _base

    monkeypatch.setattr(_base, "available_memory", lambda: 2**20)
    code, out, err = run(capsys, *SMALL, "--max-rows", "300", "--models", "deep_nngp,ridge")
    assert code == 0, err
    rows = table_rows(out)
    assert "skipped: MemoryError" in rows["deep_nngp"]
    assert 0.5 < float(rows["ridge"].split()[1]) <= 1.0
    assert "note: deep_nngp skipped: DeepNNGPClassifier needs about" in out and "--max-rows" in out


def test_quiet_prints_no_progress(capsys):
    code, out, err = run(capsys, *SMALL, "--max-rows", "200", "--models", "ridge,lofi", "--quiet")
    assert code == 0
    assert err == ""
    assert set(table_rows(out)) == {"lofi", "ridge"}


@pytest.mark.parametrize("name", ["mixed.csv", "mixed.csv.gz"])
def test_categorical_features_and_string_labels(tmp_path, capsys, name):
    header, rows = categorical_rows()
    path = write_csv(tmp_path / name, header, rows)
    code, out, err = run(capsys, "--data", str(path), "--target", "label", *SMALL, "--quiet")
    assert code == 0, err
    assert "1 categorical" in out and "classification, 2 classes (string target)" in out
    rows = table_rows(out)
    assert set(rows) == set(MODELS)
    # the label needs the string column and a threshold: the non-linear models learn it
    assert float(rows["lofi"].split()[1]) > 0.75


def test_regression_tsv(tmp_path, capsys):
    header, rows = regression_rows()
    path = write_csv(tmp_path / "reg.tsv", header, rows, delimiter="\t")
    code, out, err = run(capsys, "--data", str(path), "--target", "target", *SMALL, "--degree", "2", "--quiet")
    assert code == 0, err
    assert "regression" in out and "R^2" in out
    rows = table_rows(out)
    assert set(rows) == set(MODELS)
    assert float(rows["lofi"].split()[1]) > 0.5
    assert "degree=2" in rows["lofi"]


def test_save_writes_a_loadable_pipeline(tmp_path, capsys):
    header, rows = categorical_rows()
    path = write_csv(tmp_path / "mixed.csv", header, rows)
    model_path = tmp_path / "model.joblib"
    code, out, err = run(
        capsys, "--data", str(path), "--target", "label", *SMALL, "--models", "ridge", "--save", str(model_path)
    )
    assert code == 0, err
    assert str(model_path) in out
    model = joblib.load(model_path)
    table = load_table(path, "label")
    predictions = model.predict(as_model_input(table.X, table.categorical))
    assert predictions.shape == (len(rows),)
    assert set(predictions) <= {"yes", "no"}
    assert np.mean(predictions == table.y) > 0.75


def test_saved_lofi_model_predicts_the_same_in_a_fresh_process(tmp_path, capsys):
    # a model saved by the main job is loaded by another Python process, as a user would months later
    header, rows = categorical_rows()
    path = write_csv(tmp_path / "mixed.csv", header, rows)
    model_path = tmp_path / "model.joblib"
    code, _, err = run(capsys, "--data", str(path), "--target", "label", *SMALL, "--models", "lofi",
                       "--save", str(model_path))
    assert code == 0, err
    table = load_table(path, "label")
    expected = joblib.load(model_path).predict_proba(as_model_input(table.X, table.categorical))
    script = (
        "import sys, joblib, numpy as np\n"
        "from sklearn_lofi._data import as_model_input, load_table\n"
        f"table = load_table({str(path)!r}, 'label')\n"
        f"model = joblib.load({str(model_path)!r})\n"
        "np.save(sys.argv[1], model.predict_proba(as_model_input(table.X, table.categorical)))\n"
    )
    out_path = tmp_path / "proba.npy"
    result = subprocess.run([sys.executable, "-c", script, str(out_path)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.load(out_path), expected)


def test_unseen_categories_at_predict_time_warn():
    # a saved model fed categories it never saw (a table read with other quoting, say)
    # encodes them as zeros, but says so instead of losing the columns silently
    X = np.array([["a", 1.0], ["b", 2.0], ["a", 3.0]], dtype=object)
    preprocessor = make_preprocessor([True, False]).fit(X)
    with pytest.warns(UserWarning, match="unknown categories"):
        encoded = preprocessor.transform(np.array([["'a'", 1.0]], dtype=object))
    np.testing.assert_array_equal(encoded[0, -2:], [0.0, 0.0])  # numeric column first, then the one-hot ones


def test_small_class_falls_back_to_kfold(tmp_path, capsys):
    rows = [[i, (i * 7) % 11, "rare" if i < 2 else ("a" if i % 2 else "b")] for i in range(60)]
    path = write_csv(tmp_path / "rare.csv", ["u", "v", "y"], rows)
    code, out, err = run(capsys, "--data", str(path), "--target", "y", "--models", "ridge", "--folds", "3")
    assert code == 0, err
    assert "KFold instead of StratifiedKFold" in out


def test_parallel_folds(capsys):
    code, out, err = run(capsys, *SMALL, "--max-rows", "200", "--models", "lofi,ridge", "--n-jobs", "2")
    assert code == 0, err
    assert set(table_rows(out)) == {"lofi", "ridge"}
    assert err.count(" fold ") == 4


def test_help_exits_zero(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "--data" in out and "--save" in out


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path, capsys):
    code, _, err = run(capsys, "--data", str(tmp_path / "nope.csv"), "--target", "y")
    assert_one_line_error(code, err, "nope.csv", "no such file")


def test_unknown_target_column(tmp_path, capsys):
    header, rows = categorical_rows(20)
    path = write_csv(tmp_path / "mixed.csv", header, rows)
    code, _, err = run(capsys, "--data", str(path), "--target", "lable")
    assert_one_line_error(code, err, "'lable'", "not found", "'label'", "'colour'")


def test_missing_values_in_target(tmp_path, capsys):
    rows = [[i, 2 * i, "" if i % 5 == 0 else i % 2] for i in range(30)]
    rows[3][2] = "NA"
    rows[4][2] = "nan"
    path = write_csv(tmp_path / "nan.csv", ["a", "b", "y"], rows)
    code, _, err = run(capsys, "--data", str(path), "--target", "y")
    assert_one_line_error(code, err, "target column 'y' has 8 missing values")


def test_single_class(tmp_path, capsys):
    path = write_csv(tmp_path / "one.csv", ["a", "b", "y"], [[i, 2 * i, "same"] for i in range(30)])
    code, _, err = run(capsys, "--data", str(path), "--target", "y")
    assert_one_line_error(code, err, "single class", "'same'")


def test_regression_on_string_target(tmp_path, capsys):
    header, rows = categorical_rows(20)
    path = write_csv(tmp_path / "mixed.csv", header, rows)
    code, _, err = run(capsys, "--data", str(path), "--target", "label", "--task", "regression")
    assert_one_line_error(code, err, "--task regression", "numeric target")


def test_missing_value_in_numeric_feature(tmp_path, capsys):
    rows = [[i, "?" if i == 7 else 2 * i, i % 2] for i in range(30)]
    path = write_csv(tmp_path / "hole.csv", ["a", "b", "y"], rows)
    code, _, err = run(capsys, "--data", str(path), "--target", "y")
    assert_one_line_error(code, err, "'b'", "missing")


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--width", "0"], "--width"),
        (["--width", "many"], "--width"),
        (["--degree", "two"], "--degree"),
        (["--folds", "1"], "--folds"),
        (["--models", "lofi,svm"], "'svm'"),
        (["--task", "ranking"], "--task"),
        (["--n-jobs", "0"], "--n-jobs"),
        (["--target", "y"], "--data"),
        (["--no-such-option"], "--no-such-option"),
        (["--max-rows", "3"], "folds"),
    ],
)
def test_bad_options(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert_one_line_error(code, err, needle)


def test_module_entry_point_reports_one_line_error(tmp_path):
    """``python -m sklearn_lofi`` itself: non-zero status, one line, no traceback."""
    env = dict(os.environ)
    root = str(Path(sklearn_lofi.__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    missing = tmp_path / "absent.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "sklearn_lofi", "--data", str(missing), "--target", "y"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_line_error(proc.returncode, proc.stderr, "absent.csv")


# --------------------------------------------------------------------------- the reader


def test_load_table_types_and_unpacking(tmp_path):
    header, rows = categorical_rows(12)
    path = write_csv(tmp_path / "mixed.csv", header, rows)
    table = load_table(path, "label")
    names, X, y, categorical = table
    assert names == ["colour", "size", "noise"]
    assert X.shape == (12, 3) and X.dtype == object
    assert categorical.tolist() == [True, False, False]
    assert y.dtype.kind == "U" and table.target_kind == "string"
    assert isinstance(X[0, 1], float)


def test_load_table_all_numeric_is_float(tmp_path):
    header, rows = regression_rows(10)
    table = load_table(write_csv(tmp_path / "r.csv", header, rows), "target")
    assert table.X.dtype == np.float64 and not table.categorical.any()
    assert table.y.dtype == np.float64 and table.target_kind == "float"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    path = write_csv(tmp_path / "data.txt", ["a", "b", "y"], [[i, i * 0.5, i % 2] for i in range(20)], delimiter)
    table = load_table(path, "y")
    assert table.feature_names == ["a", "b"] and table.delimiter == delimiter
    assert table.target_kind == "integer"


def test_gzip_detected_by_magic_bytes_and_bom_dropped(tmp_path):
    raw = "\ufeffa,b,y\n" + "".join(f"{i},{i + 1},{i % 3}\n" for i in range(10))
    path = tmp_path / "compressed.csv"  # no .gz suffix
    path.write_bytes(gzip.compress(raw.encode("utf-8")))
    table = load_table(path, "a")
    assert table.feature_names == ["b", "y"]


def test_single_quoted_fields(tmp_path):
    text = "kind,amount,class\n'a, b',1,good\n'c',2,bad\n'a, b',3,good\n'c',4,bad\n"
    path = tmp_path / "quoted.csv"
    path.write_text(text)
    table = load_table(path, "class")
    assert table.X[0, 0] == "a, b" and table.categorical.tolist() == [True, False]


def test_missing_in_categorical_column_is_a_category(tmp_path):
    rows = [["x" if i % 3 else "?", i, i % 2] for i in range(12)]
    table = load_table(write_csv(tmp_path / "c.csv", ["s", "n", "y"], rows), "y")
    assert "<missing>" in set(table.X[:, 0])
    assert table.n_missing_categorical == {"s": 4}


@pytest.mark.parametrize(
    "content, match",
    [
        ("", "empty"),
        ("a,b,y\n", "no data rows"),
        ("a,b,y\n1,2,3\n4,5\n", "line 3 has 2 fields"),
        ("a,y\n1,inf\n2,3\n", "infinite"),
    ],
)
def test_load_table_errors(tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        load_table(path, "y")


def test_unknown_target_lists_columns_truncated(tmp_path):
    header = [f"feature_{i}" for i in range(40)] + ["y"]
    path = write_csv(tmp_path / "wide.csv", header, [list(range(41))] * 3)
    with pytest.raises(ValueError, match=r"'zzz' not found.*feature_0.*\(29 more\)"):
        load_table(path, "zzz")


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_table(tmp_path / "nope.csv", "y")


def test_make_preprocessor_scales_and_one_hot_encodes(tmp_path):
    header, rows = categorical_rows(30)
    table = load_table(write_csv(tmp_path / "mixed.csv", header, rows), "label")
    pre = make_preprocessor(table.categorical)
    Z = pre.fit_transform(as_model_input(table.X, table.categorical))
    assert Z.shape == (30, 2 + len(set(table.X[:, 0])))
    assert Z.dtype == np.float64
    np.testing.assert_allclose(Z[:, :2].mean(axis=0), 0.0, atol=1e-12)
    # unseen categories are ignored, not an error
    unseen = as_model_input(np.array([["purple", 0.5, 0.0]], dtype=object), table.categorical)
    assert pre.transform(unseen).shape == (1, Z.shape[1])


@pytest.mark.parametrize(
    "values, kind, task",
    [
        ([str(i % 3) for i in range(30)], "integer", "classification"),
        ([str(i % 25) for i in range(50)], "integer", "regression"),  # > 20 distinct values
        ([f"{i % 3}.0" for i in range(30)], "float", "regression"),  # written as floats
        (["a", "b"] * 10, "string", "classification"),
    ],
)
def test_auto_task(tmp_path, capsys, values, kind, task):
    rows = [[i, (i * 7) % 13, v] for i, v in enumerate(values)]
    path = write_csv(tmp_path / "t.csv", ["u", "v", "y"], rows)
    assert load_table(path, "y").target_kind == kind
    code, out, err = run(capsys, "--data", str(path), "--target", "y", "--models", "ridge", "--folds", "2", "--quiet")
    assert code == 0, err
    assert f"task: {task}" in out


def test_integer_labels_stay_integers_in_saved_models(tmp_path, capsys):
    rows = [[i, (i * 7) % 11, [1, 2, 7][i % 3]] for i in range(60)]  # gapped, as in satimage
    path = write_csv(tmp_path / "gapped.csv", ["u", "v", "y"], rows)
    model_path = tmp_path / "model.joblib"
    code, _, err = run(capsys, "--data", str(path), "--target", "y", *SMALL, "--models", "ridge",
                       "--save", str(model_path))
    assert code == 0, err
    model = joblib.load(model_path)
    assert model[-1].classes_.dtype.kind == "i" and list(model[-1].classes_) == [1, 2, 7]


def test_classification_of_a_non_integer_target_is_a_usage_error(tmp_path, capsys):
    rows = [[i, 2 * i, 1.5 * (i % 2)] for i in range(30)]
    path = write_csv(tmp_path / "half.csv", ["u", "v", "y"], rows)
    code, _, err = run(capsys, "--data", str(path), "--target", "y", "--task", "classification")
    assert_one_line_error(code, err, "non-integer", "--task regression")
    assert code == 2
