"""The convolutional transformer: patch extraction, the patch operator, filters and use in a classifier."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import linalg
from sklearn import config_context
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_lofi import ConvLoFiTransformer, LoFiTransformer, NeuralLoFiClassifier
from sklearn_lofi._kernels import extract_patches, extract_patches_numpy
from sklearn_lofi._patches import average_pool, patch_geometry

GEOMETRIES = [
    ((8, 8, 1), (3, 3), 1, "same"),
    ((8, 8, 1), (4, 4), 2, "same"),
    ((8, 8, 1), (3, 3), 1, "valid"),
    ((5, 7, 3), (2, 3), 2, "same"),
    ((5, 7, 3), (5, 2), 1, "valid"),
    ((1, 20, 1), (3, 3), 3, "same"),
]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.mark.parametrize("shape, size, stride, padding", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_patches_equal_the_numpy_twin(shape, size, stride, padding, dtype):
    geometry = patch_geometry(shape, size, stride, padding)
    images = np.random.RandomState(0).standard_normal((6, int(np.prod(shape)))).astype(dtype)
    expected = extract_patches_numpy(images, geometry.as_array(), slice(None))
    assert expected.shape == (6 * geometry.positions, geometry.patch_size)
    for n_threads in (1, 2):
        for rows in (slice(None), slice(5, 5 + 2 * geometry.positions + 1)):
            got = extract_patches(images, geometry.as_array(), rows, n_threads)
            assert got.dtype == dtype
            assert_array_equal(got, expected[rows])


def test_patch_geometry_same_and_valid():
    same = patch_geometry((8, 8, 1), (3, 3), 1, "same")
    assert (same.out_height, same.out_width, same.pad_top, same.pad_left) == (8, 8, 1, 1)
    valid = patch_geometry((8, 8, 1), (3, 3), 1, "valid")
    assert (valid.out_height, valid.out_width, valid.pad_top) == (6, 6, 0)
    # the centre pixel of a 3 x 3 "same" patch is the pixel at the patch's position
    images = np.arange(64, dtype=np.float64)[None]
    patches = extract_patches(images, same.as_array(), slice(None))
    assert_array_equal(patches[:, 4], images[0])
    # a patch taller than a one-row image is cut to one row
    assert patch_geometry((1, 20, 1), (3, 3), 1, "same").patch_height == 1


def test_average_pool_includes_partial_windows():
    maps = np.arange(2 * 5 * 5 * 3, dtype=np.float64).reshape(2, 5, 5, 3)
    pooled = average_pool(maps, 2)
    assert pooled.shape == (2, 3, 3, 3)
    assert_allclose(pooled[1, 0, 0], maps[1, :2, :2].mean(axis=(0, 1)))
    assert_allclose(pooled[0, 2, 1], maps[0, 4:, 2:4].mean(axis=(0, 1)))
    assert_allclose(pooled[0, 2, 2], maps[0, 4, 4])


def test_whole_image_patch_is_the_fully_connected_layer(digits):
    """One patch covering the image, one position: the finite layer of LoFiTransformer, exactly."""
    X, y = digits
    params = dict(width=96, n_components=6, eig_solver="dense", random_state=3)
    conv = ConvLoFiTransformer(image_shape=(8, 8), patch_size=8, padding="valid", **params).fit(X[:400], y[:400])
    dense = LoFiTransformer(n_layers=1, **params).fit(X[:400], y[:400])
    assert_allclose(conv.random_weights_, dense.random_weights_[0])
    assert_allclose(conv.normalizer_, dense.normalizers_[0], rtol=1e-12)
    assert_allclose(conv.eigenvalues_, dense.eigenvalues_[0], rtol=1e-10)
    assert_allclose(conv.transform(X[400:]), dense.transform(X[400:]), atol=1e-10)


def _explicit_operator(conv, X, labels):
    """sum_is y_i z_is z_is^T / (n S) from patches taken by the NumPy twin."""
    patches = extract_patches_numpy(X, conv._geometry_.as_array(), slice(None))
    Z = np.maximum(patches @ conv.random_weights_ / conv.normalizer_, 0) / np.sqrt(conv.width)
    r = np.repeat(labels, conv._geometry_.positions)
    return (Z * r[:, None]).T @ Z / Z.shape[0]


def test_operator_averages_over_all_patch_positions(digits):
    X, y = digits
    X, y = X[:150], (y[:150] >= 5).astype(int)
    conv = ConvLoFiTransformer(patch_size=3, width=40, n_components=5, eig_solver="dense", random_state=0).fit(X, y)
    patches = extract_patches_numpy(X, conv._geometry_.as_array(), slice(None))
    assert_allclose(conv.normalizer_, np.sqrt(np.mean(np.sum(patches**2, axis=1))), rtol=1e-12)
    labels = 2.0 * y - 1.0
    labels = labels - labels.mean()
    labels /= np.sqrt(np.mean(labels**2))
    values = linalg.eigvalsh(_explicit_operator(conv, X, labels))
    expected = values[np.argsort(-np.abs(values))][:5]
    assert_allclose(conv.eigenvalues_, expected, rtol=1e-9, atol=1e-14)


def test_plain_operator_is_the_label_free_second_moment(digits):
    X, y = digits
    X, y = X[:150], y[:150]
    conv = ConvLoFiTransformer(patch_size=3, width=40, n_components=5, operator="plain", eig_solver="dense",
                               random_state=0).fit(X, y)
    values = linalg.eigvalsh(_explicit_operator(conv, X, np.ones(len(y))))
    assert_allclose(conv.eigenvalues_, values[::-1][:5], rtol=1e-9)
    assert np.all(conv.eigenvalues_ > 0)
    shuffled = ConvLoFiTransformer(**conv.get_params()).fit(X, np.random.RandomState(1).permutation(y))
    assert_allclose(shuffled.components_, conv.components_)


def test_identity_filters_are_the_linear_map(digits):
    X, y = digits
    conv = ConvLoFiTransformer(patch_size=3, width=32, n_components=4, activation="identity",
                               random_state=0).fit(X[:200], y[:200] >= 5)
    maps = conv.transform(X[:5]).reshape((5,) + conv.output_shape_)
    patches = extract_patches_numpy(X[:5], conv._geometry_.as_array(), slice(None))
    direct = patches @ conv.filters_.reshape(conv.n_components_, -1).T
    assert_allclose(maps.reshape(-1, conv.n_components_), direct, atol=1e-12)


def test_streamed_fit_equals_the_in_memory_fit(digits):
    X, y = digits
    params = dict(patch_size=3, width=64, n_components=4, pool=2, eig_solver="dense", random_state=0)
    whole = ConvLoFiTransformer(**params).fit(X[:300], y[:300])
    with config_context(working_memory=1):  # 1 MiB: many blocks of patches
        streamed = ConvLoFiTransformer(**params).fit(X[:300], y[:300])
        assert_allclose(streamed.transform(X[300:400]), whole.transform(X[300:400]), rtol=1e-8, atol=1e-10)
    assert_allclose(streamed.eigenvalues_, whole.eigenvalues_, rtol=1e-8)


def test_integer_sample_weight_equals_repeated_images(digits):
    X, y = digits
    X, y = X[:120], y[:120] >= 5
    weights = np.random.RandomState(0).randint(0, 3, size=len(y))
    params = dict(patch_size=3, width=32, n_components=3, eig_solver="dense", random_state=0)
    weighted = ConvLoFiTransformer(**params).fit(X, y, sample_weight=weights)
    repeated = ConvLoFiTransformer(**params).fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    assert_allclose(weighted.eigenvalues_, repeated.eigenvalues_, rtol=1e-9)
    assert_allclose(weighted.transform(X[:10]), repeated.transform(X[:10]), rtol=1e-8, atol=1e-12)


def test_float32_stays_float32(digits):
    X, y = digits
    X32 = X[:200].astype(np.float32)
    conv = ConvLoFiTransformer(patch_size=3, width=32, n_components=3, random_state=0).fit(X32, y[:200])
    assert conv.random_weights_.dtype == np.float32
    assert conv.transform(X32).dtype == np.float32
    reference = ConvLoFiTransformer(**conv.get_params()).fit(X[:200], y[:200])
    assert_allclose(conv.transform(X32), reference.transform(X[:200]), rtol=2e-3, atol=2e-3)


def test_rgb_images_and_feature_names():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 6 * 5 * 3))
    y = rng.randint(0, 3, 60)
    conv = ConvLoFiTransformer(image_shape=(6, 5, 3), patch_size=(3, 2), stride=2, width=24, n_components=3,
                               random_state=0).fit(X, y)
    assert conv.patch_shape_ == (3, 2, 3)
    assert conv.output_shape_ == (3, 3, 3)
    assert conv.filters_.shape == (3, 3, 2, 3)
    assert conv.get_feature_names_out().shape == (27,)
    assert conv.transform(X).shape == (60, 27)


@pytest.mark.parametrize(
    "params, X_shape, message",
    [
        (dict(image_shape=(8, 8)), (10, 65), "holds 64 values per image, but X has 65 features"),
        (dict(image_shape=(8, 8, 0)), (10, 64), "image_shape must be"),
        (dict(patch_size=(3, 0)), (10, 64), "patch_size must be a positive int"),
        (dict(patch_size=(3, 3, 3)), (10, 64), "patch_size must be a positive int"),
    ],
)
def test_bad_geometry_is_named(params, X_shape, message):
    X = np.random.RandomState(0).standard_normal(X_shape)
    with pytest.raises(ValueError, match=message):
        ConvLoFiTransformer(width=8, n_components=2, **params).fit(X, np.arange(X_shape[0]) % 2)


def test_failed_fit_keeps_the_fitted_state(digits):
    X, y = digits
    conv = ConvLoFiTransformer(patch_size=3, width=16, n_components=2, random_state=0).fit(X[:100], y[:100])
    before = conv.transform(X[:5])
    conv.set_params(image_shape=(8, 9))
    with pytest.raises(ValueError, match="image_shape"):
        conv.fit(X[:100], y[:100])
    assert_array_equal(conv.transform(X[:5]), before)


def test_convolutional_pipeline_classifies_digits(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    model = make_pipeline(
        ConvLoFiTransformer(patch_size=3, width=128, n_components=16, pool=2, random_state=0),
        NeuralLoFiClassifier(n_layers=0, head_width=1024, random_state=0),
    ).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.95
