"""Reading a CSV/TSV table for the command line and the benchmarks.

Only the standard library ``csv`` module and NumPy: pandas is not a runtime
dependency. A table has a header row; one column is the target, the others
are features. A feature column is numeric when every cell parses as a finite
number, otherwise it is categorical (kept as strings and one-hot encoded by
:func:`make_preprocessor`).
"""

import csv
import difflib
import gzip
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = ["MISSING_VALUES", "Table", "as_model_input", "load_table", "make_preprocessor", "subsample"]

#: Cell contents (after stripping whitespace, case-insensitive) read as missing.
MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "?"})

#: Category that replaces a missing cell in a categorical column.
MISSING_CATEGORY = "<missing>"

_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 64 * 1024
_SNIFF_DELIMITERS = ",;\t|"


@dataclass
class Table:
    """A table read by :func:`load_table`.

    Attributes
    ----------
    feature_names : list of str
        Names of the feature columns, in file order (the target removed).
    X : ndarray of shape (n_rows, n_features)
        ``float64`` when every feature is numeric; otherwise ``object``, with
        Python floats in the numeric columns and strings in the categorical
        ones. :func:`as_model_input` gives what a pipeline built by
        :func:`make_preprocessor` expects.
    y : ndarray of shape (n_rows,)
        ``float64`` when every target cell parses as a number, else ``str``.
    categorical : ndarray of bool, shape (n_features,)
        True for the non-numeric (categorical) feature columns.
    target : str
        Name of the target column.
    target_kind : {"integer", "float", "string"}
        ``"integer"`` when every target cell is written as an integer
        (``"3"``, not ``"3.0"``), ``"float"`` for other numbers, ``"string"``
        when some cell is not a number.
    path : str
        The file that was read.
    delimiter : str
        The field delimiter used.
    """

    feature_names: list
    X: np.ndarray
    y: np.ndarray
    categorical: np.ndarray
    target: str
    target_kind: str
    path: str = ""
    delimiter: str = ","
    n_missing_categorical: dict = field(default_factory=dict)

    @property
    def n_rows(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    def __iter__(self):
        # ``names, X, y, categorical = load_table(...)`` unpacks like a tuple.
        return iter((self.feature_names, self.X, self.y, self.categorical))


def _is_missing(cell):
    return cell.strip().lower() in MISSING_VALUES


def _to_float(cell):
    """``float(cell)`` or None when the cell is not a number."""
    try:
        return float(cell)
    except ValueError:
        return None


def _is_integer_text(cell):
    try:
        int(cell)
    except ValueError:
        return False
    return True


def _open_text(path):
    """Open ``path`` as text, decompressing gzip (by suffix or magic bytes)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    compressed = magic == _GZIP_MAGIC or path.name.lower().endswith(".gz")
    if compressed and magic != _GZIP_MAGIC:
        raise ValueError(f"{path} has a .gz suffix but is not a gzip file")
    raw = gzip.open(path, "rb") if compressed else open(path, "rb")
    # utf-8-sig drops a byte-order mark that spreadsheet exports put in front
    # of the first column name.
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _choose_dialect(path, sample):
    """Delimiter and quote character: tab for .tsv, else sniffed (comma, '"' if that fails)."""
    name = path.name.lower()
    if name.endswith((".tsv", ".tsv.gz", ".tab", ".tab.gz")):
        return "\t", '"'
    # Sniff whole lines only: a cut-off last line can mislead the sniffer.
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=_SNIFF_DELIMITERS)
    except csv.Error:
        return ",", '"'
    # OpenML exports quote with single quotes ('<0',6,'critical/other ...').
    quotechar = dialect.quotechar if dialect.quotechar in ("'", '"') else '"'
    return dialect.delimiter, quotechar


def _short_list(names, limit=12):
    shown = ", ".join(repr(n) for n in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown


def _read_rows(path):
    """Header and data rows of ``path`` as lists of stripped strings."""
    try:
        with _open_text(path) as fh:
            sample = fh.read(_SNIFF_BYTES)
            delimiter, quotechar = _choose_dialect(path, sample)
            fh.seek(0)
            reader = csv.reader(fh, delimiter=delimiter, quotechar=quotechar)
            header = None
            rows = []
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue  # blank lines
                row = [cell.strip() for cell in row]
                if header is None:
                    header = row
                    continue
                if len(row) != len(header):
                    raise ValueError(
                        f"{path}: line {reader.line_num} has {len(row)} fields, but the header has "
                        f"{len(header)} (ragged rows, or the delimiter {delimiter!r} is wrong)"
                    )
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise ValueError(f"cannot read {path}: {exc}") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: malformed CSV near line {reader.line_num}: {exc}") from None
    if header is None:
        raise ValueError(f"{path} is empty (no header row)")
    if not rows:
        raise ValueError(f"{path} has a header row but no data rows")
    return header, rows, delimiter


def load_table(path, target):
    """Read a CSV or TSV file (optionally gzip-compressed) with a header row.

    Parameters
    ----------
    path : str or path-like
        The file. ``.tsv``/``.tsv.gz`` files are tab-separated; for other
        files the delimiter is sniffed from the first lines (comma if that
        fails). Gzip compression is detected from the suffix or the magic
        bytes.
    target : str
        Name of the target column.

    Returns
    -------
    table : Table
        Feature names, ``X``, ``y`` and the categorical mask (it also unpacks
        as ``names, X, y, categorical``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Empty file, ragged rows, unknown target column, missing cells in the
        target or in a numeric feature column, no feature column.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a file")
    header, rows, delimiter = _read_rows(path)

    matches = [j for j, name in enumerate(header) if name == target]
    if not matches:
        close = difflib.get_close_matches(target, header, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"target column {target!r} not found in {path.name}{hint}; columns are: {_short_list(header)}"
        )
    if len(matches) > 1:
        raise ValueError(f"target column {target!r} appears {len(matches)} times in the header of {path.name}")
    t = matches[0]
    if len(header) < 2:
        raise ValueError(f"{path.name} has no feature columns besides the target {target!r}")

    columns = list(zip(*rows))  # one tuple of strings per column
    y, target_kind = _parse_target(columns[t], target)

    feature_idx = [j for j in range(len(header)) if j != t]
    names = [header[j] if header[j] else f"column_{j}" for j in feature_idx]
    parsed, categorical, n_missing_cat = [], [], {}
    for j, name in zip(feature_idx, names):
        values, is_cat, n_missing = _parse_feature(columns[j], name)
        parsed.append(values)
        categorical.append(is_cat)
        if is_cat and n_missing:
            n_missing_cat[name] = n_missing
    categorical = np.asarray(categorical, dtype=bool)

    if categorical.any():
        X = np.empty((len(rows), len(parsed)), dtype=object)
        for k, values in enumerate(parsed):
            X[:, k] = values
    else:
        X = np.column_stack(parsed).astype(np.float64, copy=False)
    return Table(
        feature_names=names,
        X=X,
        y=y,
        categorical=categorical,
        target=target,
        target_kind=target_kind,
        path=str(path),
        delimiter=delimiter,
        n_missing_categorical=n_missing_cat,
    )


def _parse_target(cells, name):
    missing = sum(_is_missing(c) for c in cells)
    if missing:
        raise ValueError(f"target column {name!r} has {missing} missing values")
    numbers = [_to_float(c) for c in cells]
    if any(v is None for v in numbers):
        return np.asarray(cells, dtype=str), "string"
    y = np.asarray(numbers, dtype=np.float64)
    if not np.all(np.isfinite(y)):
        bad = int(np.sum(~np.isfinite(y)))
        raise ValueError(f"target column {name!r} has {bad} infinite values")
    kind = "integer" if all(_is_integer_text(c) for c in cells) else "float"
    return y, kind


def _parse_feature(cells, name):
    """Values of one feature column, whether it is categorical, its missing count."""
    missing = [_is_missing(c) for c in cells]
    n_missing = sum(missing)
    numbers = [None if m else _to_float(c) for c, m in zip(cells, missing)]
    is_numeric = n_missing < len(cells) and all(v is not None for v, m in zip(numbers, missing) if not m)
    if is_numeric:
        if n_missing:
            first = missing.index(True)
            raise ValueError(
                f"numeric feature column {name!r} has {n_missing} missing values "
                f"(first on data row {first + 1}: {cells[first]!r}); impute or drop them first"
            )
        values = np.asarray(numbers, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"numeric feature column {name!r} has infinite values")
        return values, False, 0
    if n_missing == len(cells):
        raise ValueError(f"feature column {name!r} has only missing values; drop it")
    values = np.asarray([MISSING_CATEGORY if m else c for c, m in zip(cells, missing)], dtype=object)
    return values, True, n_missing


def as_model_input(X, categorical):
    """``X`` as the array a :func:`make_preprocessor` pipeline expects.

    ``float64`` when no column is categorical, otherwise an ``object`` array
    whose numeric columns hold floats and whose categorical columns hold
    strings.
    """
    categorical = np.asarray(categorical, dtype=bool)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != categorical.size:
        raise ValueError(f"X has shape {X.shape}; expected 2-D with {categorical.size} columns")
    if not categorical.any():
        return X.astype(np.float64, copy=False)
    out = np.empty(X.shape, dtype=object)
    for j in range(X.shape[1]):
        if categorical[j]:
            out[:, j] = [str(v) for v in X[:, j]]
        else:
            out[:, j] = X[:, j].astype(np.float64)
    return out


def make_preprocessor(categorical_mask):
    """Column transformer: standardise numeric columns, one-hot the others.

    Parameters
    ----------
    categorical_mask : array-like of bool, shape (n_features,)
        True for the categorical columns.

    Returns
    -------
    ColumnTransformer
        ``StandardScaler`` on the numeric columns and
        ``OneHotEncoder(handle_unknown="warn", sparse_output=False)`` on the
        categorical ones, dense output, columns selected by position (so it
        accepts arrays and data frames alike). A category not seen in
        training is encoded as all zeros with a warning: a saved model fed a
        table read differently (quoted values, say) must not lose its
        categorical columns silently.
    """
    mask = np.asarray(categorical_mask, dtype=bool).reshape(-1)
    numeric = np.flatnonzero(~mask).tolist()
    categorical = np.flatnonzero(mask).tolist()
    transformers = []
    if numeric:
        transformers.append(("numeric", StandardScaler(), numeric))
    if categorical:
        transformers.append(
            ("categorical", OneHotEncoder(handle_unknown="warn", sparse_output=False), categorical)
        )
    if not transformers:
        raise ValueError("categorical_mask is empty: there are no feature columns")
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def subsample(n_rows, max_rows, seed):
    """Sorted indices of a random subset of ``max_rows`` rows (all rows if fewer)."""
    if max_rows is None or n_rows <= max_rows:
        return np.arange(n_rows)
    rng = np.random.RandomState(seed)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))

