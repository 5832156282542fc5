"""The offline CIFAR-10 reader: the decoded subset, JPEG archives (built here and shipped), errors."""

import builtins
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from sklearn_lofi.datasets import load_cifar10
from sklearn_lofi.datasets._cifar import CLASS_NAMES, NPZ_NAME, TAR_NAMES

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"
needs_data = pytest.mark.skipif(not (DATA / NPZ_NAME).is_file(),
                                reason=f"the shared CIFAR-10 files are not at {DATA}")
VEHICLES = {"airplane", "automobile", "ship", "truck"}


def _jpeg_bytes(pixels, quality=95):
    Image = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _smooth_images(rng, n):
    """Smooth colour gradients plus a little noise: JPEG keeps them within a few grey levels."""
    rows, cols = np.mgrid[0:32, 0:32] / 31.0
    images = []
    for _ in range(n):
        a, b, c = rng.uniform(30, 200, size=(3, 3))
        image = np.stack([a[k] + b[k] * rows * 0.2 + c[k] * cols * 0.2 for k in range(3)], axis=-1)
        images.append(np.clip(image, 0, 255).astype(np.uint8))
    return images


@pytest.fixture
def tiny_tar(tmp_path):
    """A train archive in the shipped layout: 3 classes x 4 images, plus a directory entry and a stray file."""
    rng = np.random.RandomState(0)
    originals = {}
    path = tmp_path / "tiny_train.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        folder = tarfile.TarInfo("train")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        for cls in ("airplane", "cat", "truck"):
            for i, pixels in enumerate(_smooth_images(rng, 4)):
                name = f"train/{cls}/{i:04d}.jpg"
                payload = _jpeg_bytes(pixels)
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
                originals[name] = pixels
        readme = b"not an image"
        info = tarfile.TarInfo("README.txt")
        info.size = len(readme)
        archive.addfile(info, io.BytesIO(readme))
    return path, originals


# --------------------------------------------------------------------------- decoded subset (NumPy only)

@needs_data
def test_npz_shapes_dtypes_and_labels():
    train = load_cifar10(DATA / NPZ_NAME)
    assert train.data.shape == (2000, 3072) and train.data.dtype == np.uint8
    assert train.images.shape == (2000, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.target.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(train.target), np.full(10, 200))
    assert list(train.class_names) == list(CLASS_NAMES) == list(train.target_names)
    # rows are the images flattened in (height, width, channel) order
    np.testing.assert_array_equal(train.data[7], train.images[7].reshape(-1))
    assert train.data[7, 3 * 32 + 2] == train.images[7, 1, 0, 2]
    # the label of each image is the class folder of its file name
    folders = [name.split("/")[1] for name in train.filenames]
    np.testing.assert_array_equal(train.class_names[train.target], folders)
    assert all(name.startswith("train/") for name in train.filenames)

    test = load_cifar10(DATA, split="test", source="npz")
    assert test.data.shape == (1000, 3072)
    assert all(name.startswith("test/") for name in test.filenames)
    assert "JPEG re-encodings" in test.DESCR


@needs_data
def test_npz_animal_vs_vehicle_follows_class_names():
    bunch = load_cifar10(DATA, source="npz", animal_vs_vehicle=True)
    assert list(bunch.target_names) == ["animal", "vehicle"]
    expected = np.array([bunch.class_names[c] in VEHICLES for c in bunch.class_target], dtype=np.int64)
    np.testing.assert_array_equal(bunch.target, expected)
    assert bunch.target.mean() == pytest.approx(0.4)
    # the mapping agrees with the flag shipped in the archive
    with np.load(DATA / NPZ_NAME) as arrays:
        np.testing.assert_array_equal(bunch.target, arrays["is_vehicle"][arrays["y_train"]])
    X, y = load_cifar10(DATA, source="npz", animal_vs_vehicle=True, return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


@needs_data
def test_npz_subset_is_reproducible_and_stratified():
    first = load_cifar10(DATA, source="npz", n_samples=150, random_state=3)
    again = load_cifar10(DATA, source="npz", n_samples=150, random_state=3)
    other = load_cifar10(DATA, source="npz", n_samples=150, random_state=4)
    np.testing.assert_array_equal(first.filenames, again.filenames)
    np.testing.assert_array_equal(first.data, again.data)
    assert set(first.filenames) != set(other.filenames)
    np.testing.assert_array_equal(np.bincount(first.target, minlength=10), np.full(10, 15))
    assert list(first.filenames) == sorted(first.filenames)
    assert len(set(first.filenames)) == 150
    # each row is still its own file's image
    full = load_cifar10(DATA, source="npz")
    rows = np.searchsorted(full.filenames, first.filenames)
    np.testing.assert_array_equal(full.images[rows], first.images)
    # a size that is not a multiple of 10 is split by largest remainders
    assert sorted(np.bincount(load_cifar10(DATA, source="npz", n_samples=13, random_state=0).target,
                              minlength=10)) == [1] * 7 + [2] * 3


# --------------------------------------------------------------------------- JPEG archives

def test_jpeg_archive_built_here(tiny_tar):
    path, originals = tiny_tar
    bunch = load_cifar10(path)
    assert list(bunch.filenames) == sorted(originals)
    assert bunch.images.shape == (12, 32, 32, 3) and bunch.images.dtype == np.uint8
    for name, image in zip(bunch.filenames, bunch.images):
        error = np.abs(image.astype(int) - originals[name].astype(int))
        assert error.mean() < 2.0 and error.max() <= 16, name
    np.testing.assert_array_equal(bunch.target, np.repeat([CLASS_NAMES.index(c) for c in ("airplane", "cat",
                                                                                            "truck")], 4))
    binary = load_cifar10(path, animal_vs_vehicle=True)
    np.testing.assert_array_equal(binary.target, np.repeat([1, 0, 1], 4))
    subset = load_cifar10(path, n_samples=6, random_state=0)
    np.testing.assert_array_equal(np.bincount(subset.target, minlength=10)[[0, 3, 9]], [2, 2, 2])
    np.testing.assert_array_equal(subset.images, bunch.images[np.searchsorted(bunch.filenames, subset.filenames)])


def test_jpeg_folder_prefers_the_archive(tiny_tar, tmp_path):
    path, _ = tiny_tar
    folder = tmp_path / "cifar10"
    folder.mkdir()
    (folder / TAR_NAMES["train"]).write_bytes(path.read_bytes())
    assert load_cifar10(folder).data.shape == (12, 3072)
    assert load_cifar10(folder, source="jpeg").data.shape == (12, 3072)
    with pytest.raises(FileNotFoundError, match="cifar10_small_uint8.npz"):
        load_cifar10(folder, source="npz")
    with pytest.raises(FileNotFoundError, match="cifar10_test_jpeg"):
        load_cifar10(folder, split="test", source="jpeg")
    with pytest.raises(ValueError, match="holds no test/<class>"):
        load_cifar10(path, split="test")


@needs_data
def test_shipped_archive_matches_the_decoded_subset():
    pytest.importorskip("PIL")
    # 300 of the 50000 training images: about 4% of them are among the npz's files 0000-0199
    jpeg = load_cifar10(DATA / TAR_NAMES["train"], split="train", n_samples=300, random_state=0)
    assert jpeg.data.shape == (300, 3072)
    np.testing.assert_array_equal(np.bincount(jpeg.target), np.full(10, 30))
    small = load_cifar10(DATA, source="npz")
    common, in_jpeg, in_small = np.intersect1d(jpeg.filenames, small.filenames, return_indices=True)
    assert len(common) >= 3, "the seed should pick a few files of the subset"
    np.testing.assert_array_equal(jpeg.images[in_jpeg], small.images[in_small])
    np.testing.assert_array_equal(jpeg.target[in_jpeg], small.target[in_small])


def test_missing_pillow_is_explained(tiny_tar, monkeypatch):
    path, _ = tiny_tar
    real_import = builtins.__import__

    def no_pillow(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pillow)
    with pytest.raises(ImportError, match=r'pip install "sklearn-lofi\[images\]"') as info:
        load_cifar10(path)
    assert "npz" in str(info.value)
    # a folder with both files falls back to the decoded subset without Pillow
    folder = path.parent / "both"
    folder.mkdir()
    (folder / TAR_NAMES["train"]).write_bytes(path.read_bytes())
    np.savez(folder / NPZ_NAME, X_train=np.zeros((2, 32, 32, 3), np.uint8), y_train=np.array([0, 8]),
             files_train=np.array(["train/airplane/0000.jpg", "train/ship/0000.jpg"]),
             X_test=np.zeros((0, 32, 32, 3), np.uint8), y_test=np.zeros(0, int), files_test=np.array([], str))
    assert load_cifar10(folder, animal_vs_vehicle=True).target.tolist() == [1, 1]


# --------------------------------------------------------------------------- errors

def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="Nothing is downloaded"):
        load_cifar10(tmp_path / "nowhere")


def test_folder_without_the_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FileNotFoundError, match="cifar10_small_uint8.npz"):
        load_cifar10(tmp_path, source="npz")
    with pytest.raises(FileNotFoundError):
        load_cifar10(tmp_path)


def test_file_of_another_kind(tmp_path):
    text = tmp_path / "cifar10_small_uint8.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match="neither the decoded subset"):
        load_cifar10(text)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ValueError, match="neither the decoded subset"):
        load_cifar10(other)


def test_source_must_match_the_file(tiny_tar):
    path, _ = tiny_tar
    with pytest.raises(ValueError, match="source='npz' does not match"):
        load_cifar10(path, source="npz")


def test_unknown_class_folder(tmp_path):
    path = tmp_path / "odd.tar"
    payload = _jpeg_bytes(np.zeros((32, 32, 3), np.uint8))
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("train/unicorn/0000.jpg")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    with pytest.raises(ValueError, match="unknown class folder 'unicorn'"):
        load_cifar10(path)


def test_too_many_samples(tiny_tar):
    path, _ = tiny_tar
    with pytest.raises(ValueError, match="n_samples=13 is more than the 12 images"):
        load_cifar10(path, n_samples=13)


@needs_data
def test_too_many_samples_from_the_npz_points_to_the_archive():
    with pytest.raises(ValueError, match="source='jpeg'"):
        load_cifar10(DATA, source="npz", n_samples=2001)


@pytest.mark.parametrize("kwargs", [dict(split="validation"), dict(source="png"), dict(n_samples=0),
                                    dict(n_samples=2.5)])
def test_bad_parameters(tiny_tar, kwargs):
    path, _ = tiny_tar
    with pytest.raises(ValueError):
        load_cifar10(path, **kwargs)
