"""The label-weighted operator and its kept directions against dense NumPy references."""

import numpy as np
import pytest
from scipy.linalg import subspace_angles

from sklearn_lofi._spectral import canonical_signs, label_moments, top_directions


def _lifted(n=120, d=6, width=40, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, width))
    Z = np.maximum(X @ W / np.sqrt(d), 0) / np.sqrt(width)
    return X, Z.astype(dtype)


def _reference_operator(Z, y, w):
    # Sum of rank-one terms, written independently of the library's BLAS form.
    C = np.zeros((Z.shape[1], Z.shape[1]))
    for z_i, y_i, w_i in zip(Z, y, w):
        C += w_i * y_i * np.outer(z_i, z_i)
    return C / w.sum()


def _reference_top_abs(C, k):
    values, vectors = np.linalg.eigh(C)
    order = np.argsort(-np.abs(values), kind="stable")[:k]
    return values[order], vectors[:, order]


def test_operator_matches_dense_reference_with_weights():
    X, Z = _lifted()
    rng = np.random.RandomState(1)
    y = np.sign(X[:, 0] * X[:, 1])
    w = rng.uniform(0.2, 3.0, len(y))
    T = label_moments(Z, y[:, None], w)
    np.testing.assert_allclose(T[0], _reference_operator(Z, y, w), rtol=1e-12, atol=1e-15)


def test_grouped_and_per_column_operators_agree():
    # One-hot labels take the grouped path (few distinct rows); a jittered copy
    # of the same labels takes the per-column path.
    X, Z = _lifted(n=200)
    rng = np.random.RandomState(2)
    codes = rng.randint(0, 4, len(Z))
    Y = np.eye(4)[codes] - 0.25
    w = rng.uniform(0.5, 2.0, len(Z))
    grouped = label_moments(Z, Y, w)
    for c in range(4):
        np.testing.assert_allclose(grouped[c], _reference_operator(Z, Y[:, c], w), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("k", [1, 5, 12])
def test_kept_subspace_matches_dense_eigh_by_principal_angles(k):
    X, Z = _lifted()
    y = np.where(np.abs(X[:, 0]) < 0.67, 1.0, -1.0)
    w = np.ones(len(y))
    T = label_moments(Z, y[:, None], w)
    values, vectors, _ = top_directions(T, k, random_state=np.random.RandomState(0))
    ref_values, ref_vectors = _reference_top_abs(_reference_operator(Z, y, w), k)
    np.testing.assert_allclose(values, ref_values, rtol=1e-9, atol=1e-14)
    assert np.max(subspace_angles(vectors, ref_vectors)) < 1e-8
    np.testing.assert_allclose(vectors.T @ vectors, np.eye(k), atol=1e-12)


def test_arpack_and_dense_paths_agree():
    X, Z = _lifted(n=300, width=80)
    y = np.sign(X[:, 0] * X[:, 2])
    T = label_moments(Z, y[:, None], np.ones(len(y)))
    dense = top_directions(T, 6, eig_solver="dense", random_state=np.random.RandomState(0))
    arpack = top_directions(T, 6, eig_solver="arpack", random_state=np.random.RandomState(0))
    np.testing.assert_allclose(arpack[0], dense[0], rtol=1e-8)
    np.testing.assert_allclose(arpack[1], dense[1], atol=1e-7)  # same canonical signs


def test_both_signs_are_reachable_and_selection_rules():
    # A diagonal operator with known spectrum: the |lambda| rule must take the
    # large negative eigenvalue, "positive"/"negative" only their own sign.
    diag = np.array([0.5, -3.0, 2.0, -1.0, 0.1])
    T = np.diag(diag)[None]
    values, vectors, _ = top_directions(T, 3, random_state=np.random.RandomState(0))
    np.testing.assert_allclose(values, [-3.0, 2.0, -1.0])
    np.testing.assert_allclose(np.abs(vectors), np.eye(5)[:, [1, 2, 3]])
    pos, _, dropped = top_directions(T, 3, selection="positive", random_state=np.random.RandomState(0))
    np.testing.assert_allclose(pos, [2.0, 0.5, 0.1])
    neg, _, dropped = top_directions(T, 3, selection="negative", random_state=np.random.RandomState(0))
    np.testing.assert_allclose(neg, [-3.0, -1.0])
    assert dropped == 1


def test_ties_between_signs_put_positive_first():
    T = np.diag([1.0, -2.0, 2.0, 0.5])[None]
    values, _, _ = top_directions(T, 2, random_state=np.random.RandomState(0))
    np.testing.assert_allclose(values, [2.0, -2.0])


def test_unfolding_of_a_scalar_label_is_the_abs_eigenvalue_rule():
    # For m = 1 the top left singular vectors of [T_1] are the top-|lambda|
    # eigenvectors of T_1: run the vector path on a scalar label by adding a
    # zero column (which contributes nothing to sum_c T_c^2).
    X, Z = _lifted()
    y = np.sign(X[:, 0] * X[:, 1])
    w = np.ones(len(y))
    scalar_values, scalar_vectors, _ = top_directions(label_moments(Z, y[:, None], w), 6,
                                                       random_state=np.random.RandomState(0))
    Y = np.column_stack([y, np.zeros_like(y)])
    vector_values, vector_vectors, _ = top_directions(label_moments(Z, Y, w), 6,
                                                       random_state=np.random.RandomState(0))
    np.testing.assert_allclose(vector_values, np.abs(scalar_values), rtol=1e-6)
    assert np.max(subspace_angles(vector_vectors, scalar_vectors)) < 1e-6


def test_vector_labels_match_unfolding_svd():
    X, Z = _lifted(n=150)
    rng = np.random.RandomState(3)
    Y = rng.standard_normal((len(Z), 3))
    w = np.ones(len(Z))
    T = label_moments(Z, Y, w)
    values, vectors, _ = top_directions(T, 5, random_state=np.random.RandomState(0))
    unfolding = np.hstack([_reference_operator(Z, Y[:, c], w) for c in range(3)])
    U, s, _ = np.linalg.svd(unfolding)
    np.testing.assert_allclose(values, s[:5], rtol=1e-6)
    assert np.max(subspace_angles(vectors, U[:, :5])) < 1e-6


def test_rank_deficient_operator_keeps_only_its_rank():
    # n = 8 rows: the P x P operator has rank <= 8.
    X, Z = _lifted(n=8, width=40)
    y = np.array([1, -1] * 4, dtype=float)
    values, vectors, dropped = top_directions(label_moments(Z, y[:, None], np.ones(8)), 20,
                                              random_state=np.random.RandomState(0))
    assert vectors.shape[1] <= 8 and dropped >= 12
    assert np.all(np.abs(values) > 1e-8 * np.abs(values).max())


def test_zero_operator_keeps_one_direction():
    values, vectors, dropped = top_directions(np.zeros((1, 4, 4)), 3, random_state=np.random.RandomState(0))
    assert vectors.shape == (4, 1) and dropped == 3


def test_float32_stays_float32_and_agrees():
    X, Z = _lifted()
    y = np.sign(X[:, 0] * X[:, 1])
    w = np.ones(len(y))
    v64, V64, _ = top_directions(label_moments(Z, y[:, None], w), 4, random_state=np.random.RandomState(0))
    v32, V32, _ = top_directions(label_moments(Z.astype(np.float32), y[:, None], w), 4,
                                 random_state=np.random.RandomState(0))
    assert V32.dtype == np.float32 and v32.dtype == np.float32
    np.testing.assert_allclose(v32, v64, rtol=1e-3)
    assert np.max(subspace_angles(V32.astype(np.float64), V64)) < 1e-3


def test_canonical_signs():
    V = np.array([[0.1, -0.9], [-0.8, 0.2], [0.3, 0.3]])
    F = canonical_signs(V)
    np.testing.assert_allclose(F, [[-0.1, 0.9], [0.8, -0.2], [-0.3, -0.3]])
    np.testing.assert_allclose(canonical_signs(-V), F)


def test_selection_other_than_abs_rejected_for_vector_labels():
    with pytest.raises(ValueError, match="scalar label"):
        top_directions(np.zeros((2, 3, 3)), 1, selection="positive", random_state=np.random.RandomState(0))


# --------------------------------------------------------------------------------------
# Matrix-free randomized subspace iteration
# --------------------------------------------------------------------------------------
from sklearn_lofi._spectral import randomized_top_directions  # noqa: E402


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-6), (np.float32, 1e-2)])
def test_randomized_matches_dense_on_a_scalar_label(dtype, tol):
    X, Z = _lifted(n=400, width=120, dtype=dtype)
    y = np.sign(X[:, 0] * X[:, 1])
    w = np.random.RandomState(4).uniform(0.5, 2.0, len(y))
    dense_values, dense_vectors, _ = top_directions(label_moments(Z, y[:, None], w), 5, eig_solver="dense",
                                                    random_state=np.random.RandomState(0))
    values, vectors, _, projected = randomized_top_directions(
        Z, y[:, None], w, 5, random_state=np.random.RandomState(0), n_power_iter=20)
    assert vectors.dtype == dtype and values.dtype == dtype and projected.dtype == dtype
    np.testing.assert_allclose(projected, Z @ vectors, rtol=10 * tol, atol=10 * tol * np.abs(projected).max())
    np.testing.assert_allclose(values, dense_values, rtol=tol)
    assert np.max(subspace_angles(vectors.astype(np.float64), dense_vectors.astype(np.float64))) < tol
    assert (values < 0).any() and (values > 0).any()  # both ends of the indefinite spectrum


def test_randomized_matches_dense_on_vector_labels():
    X, Z = _lifted(n=300, width=80)
    rng = np.random.RandomState(5)
    Y = np.eye(3)[rng.randint(0, 3, len(Z))] - 1 / 3
    w = np.ones(len(Z))
    dense_values, dense_vectors, _ = top_directions(label_moments(Z, Y, w), 4, eig_solver="dense",
                                                    random_state=np.random.RandomState(0))
    values, vectors, _, projected = randomized_top_directions(Z, Y, w, 4, random_state=np.random.RandomState(0),
                                                              n_power_iter=20)
    np.testing.assert_allclose(projected, Z @ vectors, atol=1e-10)
    np.testing.assert_allclose(values, dense_values, rtol=1e-6)
    assert np.max(subspace_angles(vectors, dense_vectors)) < 1e-6


def test_randomized_on_a_rank_deficient_operator():
    X, Z = _lifted(n=10, width=60)
    y = np.array([1.0, -1.0] * 5)
    values, vectors, dropped, _ = randomized_top_directions(Z, y[:, None], np.ones(10), 20,
                                                            random_state=np.random.RandomState(0))
    assert vectors.shape[1] <= 10 and dropped >= 10
    # the kept directions are the dense path's (n < P: rank at most n)
    dense_values, dense_vectors, _ = top_directions(label_moments(Z, y[:, None], np.ones(10)), 20,
                                                    eig_solver="dense", random_state=np.random.RandomState(0))
    assert vectors.shape == dense_vectors.shape
    np.testing.assert_allclose(values, dense_values, rtol=1e-8)
    assert np.max(subspace_angles(vectors, dense_vectors)) < 1e-6


def _diagonal_operator_features(diagonal):
    # Row i = sqrt(n |d_i|) e_i with label sign(d_i): T = Z^T diag(y) Z / n = diag(d).
    n = len(diagonal)
    Z = np.diag(np.sqrt(n * np.abs(diagonal)))
    return Z, np.sign(diagonal)[:, None]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_randomized_ties_between_signs_follow_the_dense_rule(dtype):
    diagonal = np.array([1.0, -2.0, 2.0, 0.5, -0.25, 0.1, 3.0, -3.0] + [0.01] * 16)
    Z, y = _diagonal_operator_features(diagonal)
    Z = Z.astype(dtype)
    w = np.ones(len(diagonal))
    for k in (1, 2, 3, 4):
        dense = top_directions(label_moments(Z, y, w), k, eig_solver="dense", random_state=np.random.RandomState(0))
        randomized = randomized_top_directions(Z, y, w, k, random_state=np.random.RandomState(1))
        np.testing.assert_allclose(randomized[0], dense[0], rtol=1e-5)
        # exact ties (+3, -3 and +2, -2): positive first, each an axis with a positive entry
        np.testing.assert_allclose(np.abs(randomized[1]), np.abs(dense[1]), atol=1e-5)
        assert np.all(randomized[1].max(axis=0) > 0.99)
    np.testing.assert_allclose(randomized[0], [3.0, -3.0, 2.0, -2.0], rtol=1e-5)


def test_streamed_features_give_the_same_operator_and_directions():
    from sklearn import config_context

    from sklearn_lofi._features import ArrayRows, LiftedRows

    rng = np.random.RandomState(0)
    X = rng.standard_normal((500, 7))
    W = rng.standard_normal((7, 64))
    Y = np.eye(3)[rng.randint(0, 3, 500)] - 1 / 3
    w = rng.uniform(0.5, 2.0, 500)
    whole = LiftedRows(ArrayRows(X), W, 2.0, "relu", None)
    with config_context(working_memory=0.05):  # 102 rows of 64 float64; a block takes a quarter
        streamed = LiftedRows(ArrayRows(X), W, 2.0, "relu", None)
        assert streamed.streamed and streamed.block_rows == 25
        np.testing.assert_allclose(label_moments(streamed, Y, w), label_moments(whole, Y, w), atol=1e-13)
        np.testing.assert_allclose(label_moments(streamed, Y[:, :1], w), label_moments(whole, Y[:, :1], w),
                                   atol=1e-13)
        got = randomized_top_directions(streamed, Y, w, 5, random_state=np.random.RandomState(0))
        np.testing.assert_allclose(streamed.project(got[1]), whole.array @ got[1], atol=1e-12)
    expected = randomized_top_directions(whole, Y, w, 5, random_state=np.random.RandomState(0))
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_randomized_solver_in_an_estimator_agrees_with_dense():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from sklearn_lofi import LoFiTransformer

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    fits = [LoFiTransformer(n_layers=1, width=300, n_components=6, eig_solver=s, random_state=0).fit(X, y)
            for s in ("dense", "randomized")]
    assert np.max(subspace_angles(fits[0].components_[0], fits[1].components_[0])) < 1e-3


@pytest.mark.parametrize("n_label_columns", [1, 3])
def test_centred_rows_give_the_same_operator_and_directions(n_label_columns):
    # A centred source hands out Z - mu and the operator adds the rank-two
    # offset terms back: the same T and the same directions as from raw Z,
    # held whole or streamed (where mu is the first block's mean), for scalar
    # and grouped (one-hot) labels with weights.
    from sklearn import config_context

    from sklearn_lofi._features import ArrayRows, LiftedRows

    rng = np.random.RandomState(0)
    X = rng.standard_normal((400, 6)) + 3.0
    W = rng.standard_normal((6, 48))
    w = rng.uniform(0.5, 2.0, 400)
    if n_label_columns == 1:
        Y = rng.standard_normal((400, 1))
    else:
        Y = np.eye(3)[rng.randint(0, 3, 400)] - 1 / 3
    raw = LiftedRows(ArrayRows(X), W, 2.0, "relu", None)
    expected = label_moments(raw.array, Y, w)
    scale = np.abs(expected).max()
    dense = top_directions(expected, 4, eig_solver="dense")
    for memory in (None, 0.02):  # whole, then streamed in blocks of ~13 rows
        with config_context(working_memory=memory or 1024):
            centred = LiftedRows(ArrayRows(X), W, 2.0, "relu", None, centre=True)
            assert centred.streamed == (memory is not None) and centred.offset is not None
            np.testing.assert_allclose(label_moments(centred, Y, w), expected, atol=1e-12 * scale)
            values, vectors, _, projected = randomized_top_directions(
                centred, Y, w, 4, random_state=np.random.RandomState(0), n_power_iter=30)
        assert np.sin(subspace_angles(vectors, dense[1]).max()) < 1e-6
        np.testing.assert_allclose(np.abs(values), np.abs(dense[0]), rtol=1e-8)
        np.testing.assert_allclose(projected, raw.array @ vectors, atol=1e-10 * np.abs(projected).max())
        np.testing.assert_allclose(centred.project(vectors), raw.array @ vectors,
                                   atol=1e-12 * np.abs(projected).max())
    with pytest.raises(ValueError, match="centred"):
        LiftedRows(centred, rng.standard_normal((48, 5)), 1.0, "relu", None)


def test_auto_rule_picks_by_cost_and_memory():
    from sklearn_lofi._spectral import choose_eig_solver

    GiB = 2**30
    # narrow layers: dense; a few directions of a medium layer: ARPACK
    assert choose_eig_solver(2000, 128, 16, 1, None, 8, GiB) == "dense"
    assert choose_eig_solver(2000, 1024, 64, 1, None, 8, GiB) == "arpack"
    assert choose_eig_solver(2000, 1024, 512, 1, None, 8, GiB) == "dense"
    # many rows and a wide layer: passes over Z cost less than forming Z^T D Z
    assert choose_eig_solver(100_000, 8192, 64, 1, None, 4, GiB) == "randomized"
    # measured (doc/performance.rst): on magic's 14 265 rows at P = 4096, K = 256
    # randomized took 3.9 s against ARPACK's 8.0 s
    assert choose_eig_solver(14_265, 4096, 256, 1, None, 8, GiB) == "randomized"
    # an operator that does not fit the budget is never formed
    assert choose_eig_solver(500, 1024, 64, 1, None, 8, GiB) == "arpack"
    assert choose_eig_solver(500, 1024, 64, 1, None, 8, 2**20) == "randomized"
