"""The displays of sklearn_lofi.inspection: values, plots and errors."""

import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lofi import (
    LoFiTransformer,
    NeuralLoFiClassifier,
    NeuralLoFiRegressor,
    RandomFeatureBaselineClassifier,
)
from sklearn_lofi.datasets import make_quadratic_index
from sklearn_lofi.inspection import FilterDisplay, SpectrumDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _reference_spectrum(model, X, labels, layer):
    """The layer's operator built from scratch with NumPy: replay, lift, Z^T diag(r) Z / n."""
    H = X
    for W, c, V in zip(model.random_weights_[:layer], model.normalizers_[:layer], model.components_[:layer]):
        H = np.maximum(H @ W / c, 0) / np.sqrt(W.shape[1]) @ V
    W, c = model.random_weights_[layer], model.normalizers_[layer]
    Z = np.maximum(H @ W / c, 0) / np.sqrt(W.shape[1])
    T = [Z.T @ (labels[:, [k]] * Z) / len(X) for k in range(labels.shape[1])]
    if len(T) == 1:
        return np.linalg.eigvalsh(T[0])[::-1]
    return np.sqrt(np.clip(np.linalg.eigvalsh(sum(t @ t for t in T)), 0, None))[::-1]


# -- SpectrumDisplay: values ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kept_eigenvalues_are_those_of_a_dense_fit(cancer, dtype):
    X, y = cancer
    X = X.astype(dtype)
    model = LoFiTransformer(n_layers=2, width=96, n_components=[6, 3], eig_solver="dense", random_state=0).fit(X, y)
    display = SpectrumDisplay.from_estimator(model, X, y, layer="all", n_shuffles=1, random_state=0)
    assert display.layers == [0, 1]
    rtol = 1e-10 if dtype == np.float64 else 2e-5
    for layer in range(2):
        values = display.eigenvalues[layer]
        assert values.shape == (96,) and np.all(np.diff(values) <= 0)
        kept = values[display.kept[layer]]
        scale = np.abs(model.eigenvalues_[layer]).max()
        np.testing.assert_allclose(kept, model.eigenvalues_[layer], rtol=0, atol=rtol * scale)


def test_spectrum_matches_an_independent_numpy_operator(cancer):
    X, y = cancer
    model = LoFiTransformer(n_layers=2, width=64, n_components=4, label_centering=False, random_state=0).fit(X, y)
    display = SpectrumDisplay.from_estimator(model, X, y, layer=1, n_shuffles=0)
    labels = (2.0 * y - 1.0)[:, None]
    labels /= np.sqrt(np.mean(labels**2))
    np.testing.assert_allclose(display.eigenvalues[0], _reference_spectrum(model, X, labels, 1), atol=1e-12)
    assert display.null_eigenvalues[0].shape == (0, 64)


def test_planted_outlier_leaves_the_null_bulk_only_with_enough_samples():
    d = 50
    gaps = {}
    for n in (20 * d, d // 2):
        X, y, _ = make_quadratic_index(n, d, random_state=0)
        model = LoFiTransformer(width=128, n_components=1, activation="tanh", random_state=0).fit(X, y)
        display = SpectrumDisplay.from_estimator(model, X, y, n_shuffles=10, random_state=0)
        assert display.kept[0].tolist() == [0]
        gaps[n] = display.eigenvalues[0][0] / display.null_eigenvalues[0].max()
    assert gaps[20 * d] > 1.5  # measured 2.4 (seeds 1, 2: 2.3, 1.8)
    assert gaps[d // 2] < 1.0  # measured 0.89 (seeds 1, 2: 0.91, 0.81): the top eigenvalue is noise


def test_vector_labels_give_non_negative_singular_values_of_the_unfolding():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    model = NeuralLoFiClassifier(width=64, n_components=5, head_width=32, eig_solver="dense",
                                 random_state=0).fit(X, y)
    display = SpectrumDisplay.from_estimator(model, X, y, n_shuffles=2, random_state=0)
    assert display.vector_label
    values, null = display.eigenvalues[0], display.null_eigenvalues[0]
    assert np.all(values >= 0) and np.all(null >= 0) and null.shape == (2, 64)
    np.testing.assert_allclose(values[display.kept[0]], model.eigenvalues_[0], rtol=1e-8)
    # against the squared unfolding built here from the one-hot labels, centred and scaled
    one_hot = (y[:, None] == np.arange(10)).astype(float)
    one_hot -= one_hot.mean(axis=0)
    one_hot /= np.sqrt(np.mean(one_hot**2, axis=0))
    # singular values at rounding level are square roots of ~eps * max^2: ~1e-8 of the largest
    np.testing.assert_allclose(values, _reference_spectrum(model, X, one_hot, 0), rtol=1e-6, atol=1e-7 * values[0])
    # ten classes of real digits: the label spectrum stands above any shuffle's
    assert values[0] > 2 * null.max()


def test_regressor_multi_output_and_sample_weight():
    X, y, _ = make_quadratic_index(300, 8, random_state=0)
    Y = np.c_[y, -2 * y + 1]
    weights = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    model = NeuralLoFiRegressor(width=48, n_components=3, head_width=16, eig_solver="dense",
                                random_state=0).fit(X, Y, sample_weight=weights)
    display = SpectrumDisplay.from_estimator(model, X, Y, sample_weight=weights, n_shuffles=1, random_state=0)
    np.testing.assert_allclose(display.eigenvalues[0][display.kept[0]], model.eigenvalues_[0], rtol=1e-8)
    unweighted = SpectrumDisplay.from_estimator(model, X, Y, n_shuffles=0)
    assert not np.allclose(unweighted.eigenvalues[0], display.eigenvalues[0])


def test_classifier_labels_are_coded_against_the_fitted_classes():
    X, y = load_digits(return_X_y=True)
    labels = np.array(list("abcdefghij"))[y]
    model = NeuralLoFiClassifier(width=32, n_components=4, head_width=16, random_state=0).fit(X[:300], labels[:300])
    # held-out rows of three classes only: the coding keeps all ten columns (zero for absent classes)
    rows = np.flatnonzero(np.isin(y[300:], [1, 2, 3]))[:90] + 300
    display = SpectrumDisplay.from_estimator(model, X[rows], labels[rows], n_shuffles=0)
    assert display.eigenvalues[0].shape == (32,) and display.vector_label
    with pytest.raises(ValueError, match="not fitted on"):
        SpectrumDisplay.from_estimator(model, X[:10], np.array(["z"] * 10), n_shuffles=0)


def test_pipeline_input_is_transformed_by_the_earlier_steps(cancer):
    X_raw, y = load_breast_cancer(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), LoFiTransformer(width=64, n_components=3, random_state=0))
    pipeline.fit(X_raw, y)
    through_pipeline = SpectrumDisplay.from_estimator(pipeline, X_raw, y, n_shuffles=2, random_state=3)
    scaled = pipeline[0].transform(X_raw)
    direct = SpectrumDisplay.from_estimator(pipeline[-1], scaled, y, n_shuffles=2, random_state=3)
    np.testing.assert_allclose(through_pipeline.eigenvalues[0], direct.eigenvalues[0])
    np.testing.assert_allclose(through_pipeline.null_eigenvalues[0], direct.null_eigenvalues[0])
    # the raw (unscaled) inputs give another spectrum: the scaler was applied
    raw = SpectrumDisplay.from_estimator(pipeline[-1], X_raw, y, n_shuffles=0)
    assert not np.allclose(raw.eigenvalues[0], direct.eigenvalues[0])


def test_shuffles_are_reproducible_and_differ_from_each_other(cancer):
    X, y = cancer
    model = LoFiTransformer(width=32, n_components=2, random_state=0).fit(X, y)
    first = SpectrumDisplay.from_estimator(model, X, y, n_shuffles=3, random_state=7)
    again = SpectrumDisplay.from_estimator(model, X, y, n_shuffles=3, random_state=7)
    np.testing.assert_array_equal(first.null_eigenvalues[0], again.null_eigenvalues[0])
    null = first.null_eigenvalues[0]
    assert not np.allclose(null[0], null[1])
    # shuffled labels are far less correlated with the features than the true ones
    assert np.abs(null).max() < 0.5 * np.abs(first.eigenvalues[0]).max()


# -- SpectrumDisplay: plots -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sorted", "hist"])
def test_plot_creates_artists_with_and_without_ax(cancer, kind):
    X, y = cancer
    model = LoFiTransformer(n_layers=2, width=32, n_components=3, random_state=0).fit(X, y)
    display = SpectrumDisplay.from_estimator(model, X, y, layer="all", n_shuffles=2, random_state=0, kind=kind)
    assert display.axes_.shape == (2,) and display.ax_ is display.axes_
    assert display.figure_ is display.axes_[0].figure
    assert len(display.spectrum_artists_) == len(display.null_artists_) == len(display.kept_artists_) == 2
    assert all(a is not None for a in display.null_artists_)
    for markers, kept in zip(display.kept_artists_, display.kept):
        assert markers.get_offsets().shape == (kept.size, 2)

    fig, ax = plt.subplots()
    single = SpectrumDisplay.from_estimator(model, X, y, layer=1, n_shuffles=0, kind=kind, ax=ax)
    assert single.ax_ is ax and single.figure_ is fig
    assert single.null_artists_ == [None]
    assert single.ax_.get_title() == "LoFiTransformer, layer 1"


def test_sorted_plot_draws_both_ends_of_a_signed_spectrum():
    values = np.array([3.0, 1.0, 0.5, 0.0, -0.2, -4.0])
    display = SpectrumDisplay([values], [np.zeros((1, 6))], [np.array([5, 0])], [0]).plot()
    top, bottom = display.spectrum_artists_[0]
    np.testing.assert_array_equal(top.get_ydata(), [3.0, 1.0, 0.5])
    np.testing.assert_array_equal(bottom.get_ydata(), [-4.0, -0.2, 0.0])
    # kept markers sit at their rank from their own end
    np.testing.assert_array_equal(display.kept_artists_[0].get_offsets(), [[1, -4.0], [1, 3.0]])
    assert display.ax_.get_xscale() == "log"


def test_plot_rejects_a_wrong_number_of_axes(cancer):
    X, y = cancer
    model = LoFiTransformer(n_layers=2, width=16, n_components=2, random_state=0).fit(X, y)
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="2 panel"):
        SpectrumDisplay.from_estimator(model, X, y, layer="all", n_shuffles=0, ax=ax)
    display = SpectrumDisplay.from_estimator(model, X, y, layer=0, n_shuffles=0)
    with pytest.raises(ValueError, match="kind"):
        display.plot(kind="scatter")


# -- SpectrumDisplay: errors ----------------------------------------------------------------------------


def test_unfitted_estimator_raises_not_fitted(cancer):
    X, y = cancer
    with pytest.raises(NotFittedError):
        SpectrumDisplay.from_estimator(LoFiTransformer(), X, y)
    with pytest.raises(NotFittedError):
        SpectrumDisplay.from_estimator(make_pipeline(StandardScaler(), NeuralLoFiClassifier()), X, y)


@pytest.mark.parametrize("estimator", [LogisticRegression(), RandomFeatureBaselineClassifier(),
                                       make_pipeline(StandardScaler(), LogisticRegression())])
def test_unsupported_estimator_raises_type_error(cancer, estimator):
    X, y = cancer
    with pytest.raises(TypeError, match="LoFiTransformer, NeuralLoFiClassifier or NeuralLoFiRegressor"):
        SpectrumDisplay.from_estimator(estimator, X, y)


@pytest.mark.parametrize("layer", [2, -1, [0, 5], "last", 1.0, []])
def test_bad_layer_raises_value_error_naming_the_range(cancer, layer):
    X, y = cancer
    model = LoFiTransformer(n_layers=2, width=16, n_components=2, random_state=0).fit(X, y)
    match = "0 to 1" if isinstance(layer, int) or isinstance(layer, list) and layer else "layer"
    with pytest.raises(ValueError, match=match):
        SpectrumDisplay.from_estimator(model, X, y, layer=layer)


def test_estimator_without_filtered_layers(cancer):
    X, y = cancer
    model = NeuralLoFiClassifier(n_layers=0, head_width=16, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="no filtered layers"):
        SpectrumDisplay.from_estimator(model, X, y)


def test_bad_inputs(cancer):
    X, y = cancer
    model = LoFiTransformer(width=16, n_components=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="n_shuffles"):
        SpectrumDisplay.from_estimator(model, X, y, n_shuffles=-1)
    with pytest.raises(ValueError, match="features"):
        SpectrumDisplay.from_estimator(model, X[:, :5], y)
    with pytest.raises(ValueError, match="inconsistent"):
        SpectrumDisplay.from_estimator(model, X, y[:-1])


@pytest.mark.parametrize("display_class", [SpectrumDisplay, FilterDisplay])
def test_missing_matplotlib_names_the_extra(monkeypatch, cancer, display_class):
    X, y = cancer
    model = LoFiTransformer(width=16, n_components=2, random_state=0).fit(X, y)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    with pytest.raises(ImportError, match=r'pip install "sklearn-lofi\[plot\]"'):
        display_class.from_estimator(model, X, y)
    display = SpectrumDisplay([np.ones(3)], [np.ones((1, 3))], [np.array([0])], [0])
    with pytest.raises(ImportError, match="sklearn-lofi"):
        display.plot()


# -- FilterDisplay --------------------------------------------------------------------------------------


class FakeConv(BaseEstimator):
    """Has ConvLoFiTransformer's parameters and fitted attributes; the filters depend on the operator."""

    def __init__(self, image_shape=(6, 6, 3), patch_size=3, operator="signed", n_components=5):
        self.image_shape = image_shape
        self.patch_size = patch_size
        self.operator = operator
        self.n_components = n_components

    def fit(self, X, y):
        rng = np.random.RandomState(0 if self.operator == "signed" else 1)
        channels = self.image_shape[2]
        self.filters_ = rng.standard_normal((self.n_components, self.patch_size, self.patch_size, channels))
        values = np.arange(self.n_components, 0, -1, dtype=float)
        self.eigenvalues_ = values * (-1) ** np.arange(self.n_components) if self.operator == "signed" else values
        self.n_components_ = self.n_components
        self.fitted_on_ = X.shape
        return self

    def transform(self, X):
        return X


@pytest.mark.parametrize("channels", [1, 3])
def test_filter_display_against_the_fake_contract(channels):
    X, y = np.zeros((4, 6 * 6 * channels)), np.array([0, 1, 0, 1])
    conv = FakeConv(image_shape=(6, 6, channels)).fit(X, y)
    display = FilterDisplay.from_estimator(conv, X, y, n_filters=4)
    np.testing.assert_array_equal(display.filters, conv.filters_[:4])
    np.testing.assert_array_equal(display.eigenvalues, [5, -4, 3, -2])
    np.testing.assert_array_equal(display.label_free_eigenvalues, [5, 4, 3, 2])
    assert not np.allclose(display.label_free_filters, display.filters)
    assert display.axes_.shape == (2, 4)
    image = np.asarray(display.images_[0, 1].get_array())
    assert image.shape == ((3, 3, 3) if channels == 3 else (3, 3))
    # rescaled per filter, 0 at mid-grey and the largest magnitude at 0 or 1
    f = conv.filters_[1]
    np.testing.assert_allclose(image.reshape(f.shape), 0.5 + 0.5 * f / np.abs(f).max())
    assert min(image.min(), 1 - image.max()) == pytest.approx(0.0)
    minmax = FilterDisplay.from_estimator(conv, X, y, n_filters=4, label_free=False, scaling="minmax")
    image = np.asarray(minmax.images_[0, 1].get_array())
    np.testing.assert_allclose(image.reshape(f.shape), (f - f.min()) / (f.max() - f.min()))
    assert display.axes_[0, 1].get_title() == "-4"
    assert display.axes_[0, 0].get_ylabel() == "signed" and display.axes_[1, 0].get_ylabel() == "label-free"


def test_filter_display_grid_layout_ax_and_options():
    X, y = np.zeros((4, 108)), np.array([0, 1, 0, 1])
    conv = FakeConv(n_components=7).fit(X, y)
    fig, ax = plt.subplots()
    display = FilterDisplay.from_estimator(conv, X, y, n_filters=7, n_cols=3, label_free=False, ax=ax)
    assert display.ax_ is ax and display.figure_ is fig
    assert display.label_free_filters is None
    assert display.axes_.shape == (3, 3)
    assert [cell.get_visible() for cell in display.axes_[2]] == [True, False, False]
    assert display.images_[2, 1] is None
    # a model that is itself label-free shows one block only
    plain = FakeConv(operator="plain").fit(X, y)
    assert FilterDisplay.from_estimator(plain, X, y).label_free_filters is None


def test_filter_display_pipeline_uses_steps_before_the_conv():
    X, y = np.random.RandomState(0).standard_normal((4, 108)), np.array([0, 1, 0, 1])
    pipeline = make_pipeline(StandardScaler(), FakeConv(), LogisticRegression()).fit(X, y)
    display = FilterDisplay.from_estimator(pipeline, X[:3], y[:3])
    assert display.filters.shape == (5, 3, 3, 3)
    np.testing.assert_array_equal(display.filters, pipeline[1].filters_)


def test_filter_display_errors():
    X, y = np.zeros((4, 108)), np.array([0, 1, 0, 1])
    with pytest.raises(NotFittedError):
        FilterDisplay.from_estimator(FakeConv(), X, y)
    with pytest.raises(TypeError, match="ConvLoFiTransformer"):
        FilterDisplay.from_estimator(LogisticRegression().fit(X, y), X, y)
    with pytest.raises(TypeError, match="ConvLoFiTransformer"):
        FilterDisplay.from_estimator(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), X, y)
    with pytest.raises(ValueError, match="n_filters"):
        FilterDisplay.from_estimator(FakeConv().fit(X, y), X, y, n_filters=0)
    with pytest.raises(ValueError, match="scaling"):
        FilterDisplay.from_estimator(FakeConv().fit(X, y), X, y, scaling="log")


def test_plot_options_are_checked_before_any_fit_or_spectrum(monkeypatch, cancer):
    # A bad plotting option must fail at once, not after the label-free refit
    # (FilterDisplay) or the shuffled-label spectra (SpectrumDisplay).
    import sklearn_lofi.inspection as inspection

    def must_not_run(*args, **kwargs):
        raise AssertionError("work started before the options were checked")

    X, y = np.zeros((4, 108)), np.array([0, 1, 0, 1])
    conv = FakeConv().fit(X, y)
    monkeypatch.setattr(inspection, "clone", must_not_run)
    for bad in [dict(n_cols=0), dict(n_cols=2.5), dict(n_cols=True), dict(scaling="abs")]:
        with pytest.raises(ValueError, match="n_cols" if "n_cols" in bad else "scaling"):
            FilterDisplay.from_estimator(conv, X, y, **bad)
    X, y = cancer
    model = LoFiTransformer(width=16, n_components=2, random_state=0).fit(X, y)
    monkeypatch.setattr(inspection, "_final_step", must_not_run)
    with pytest.raises(ValueError, match="kind must be 'sorted' or 'hist'"):
        SpectrumDisplay.from_estimator(model, X, y, kind="bars")


@pytest.mark.parametrize("kind", ["sorted", "hist"])
def test_new_figure_keeps_its_axis_labels_inside(cancer, kind):
    X, y = cancer
    model = LoFiTransformer(width=16, n_components=2, random_state=0).fit(X, y)
    fig = SpectrumDisplay.from_estimator(model, X, y, n_shuffles=1, random_state=0, kind=kind).figure_
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    for axis in fig.axes:
        for label in (axis.xaxis.label, axis.yaxis.label):
            extent = label.get_window_extent(renderer)
            assert label.get_text()
            assert box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0 and extent.y1 <= box.y1, (
                label.get_text(), extent, box)


def test_filter_display_on_a_real_conv_model_of_digits():
    from sklearn_lofi import ConvLoFiTransformer

    X, y = load_digits(return_X_y=True)
    X, y = X[:500] / 16, y[:500] >= 5
    conv = ConvLoFiTransformer(patch_size=3, width=32, n_components=6, random_state=0).fit(X, y)
    display = FilterDisplay.from_estimator(conv, X, y, n_filters=4)
    assert display.filters.shape == (4, 3, 3, 1)
    np.testing.assert_array_equal(display.eigenvalues, conv.eigenvalues_[:4])
    plain = ConvLoFiTransformer(patch_size=3, width=32, n_components=6, random_state=0, operator="plain").fit(X, y)
    np.testing.assert_allclose(display.label_free_filters, plain.filters_[:4])
    # the plain second moment is positive semi-definite; the signed operator is not
    assert np.all(display.label_free_eigenvalues > 0)
    assert display.images_[0, 0].get_array().shape == (3, 3)


def test_spectrum_replays_the_fitted_layers_after_set_params(cancer):
    # the display must use the activation and degree the layers were fitted with
    X, y = cancer
    model = LoFiTransformer(width=32, n_components=2, degree=2, random_state=0).fit(X, y)
    before = SpectrumDisplay.from_estimator(model, X, y, n_shuffles=1, random_state=0)
    model.set_params(activation="tanh", degree=None)
    after = SpectrumDisplay.from_estimator(model, X, y, n_shuffles=1, random_state=0)
    np.testing.assert_array_equal(after.eigenvalues[0], before.eigenvalues[0])
