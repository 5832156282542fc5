"""The offline CIFAR-10 reader: the decoded subset, JPEG archives (built here and shipped), errors."""

import builtins
import gzip
import io
import re
import tarfile
import zipfile
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
    with pytest.raises(ValueError, match="not a recognised CIFAR-10 file: it is neither the decoded subset"):
        load_cifar10(text)
    # the same file in a folder is not taken for the decoded subset either
    with pytest.raises(ValueError, match="cifar10_small_uint8.npz' is not a recognised"):
        load_cifar10(tmp_path, source="npz")
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"'.*empty.bin' is not a recognised CIFAR-10 file \(it is empty\)"):
        load_cifar10(empty)
    # gzip-compressed, but not a tar archive (a compressed table, say)
    table = tmp_path / "table.tsv.gz"
    with gzip.open(table, "wt") as stream:
        stream.write("a\tb\n" * 300)
    with pytest.raises(ValueError, match="table.tsv.gz' is not a recognised CIFAR-10 file"):
        load_cifar10(table)
    # a zip without NumPy arrays
    archive = tmp_path / "notes.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match="notes.zip' is not a recognised CIFAR-10 file"):
        load_cifar10(archive)


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


# --------------------------------------------------------------------------- damaged or malformed files

def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def _valid_arrays(n=4, split="train"):
    classes = [CLASS_NAMES[i % 10] for i in range(n)]
    return {f"X_{split}": np.arange(n * 3072, dtype=np.int64).reshape(n, 32, 32, 3).astype(np.uint8),
            f"y_{split}": np.arange(n) % 10,
            f"files_{split}": np.array([f"{split}/{c}/{i:04d}.jpg" for i, c in enumerate(classes)])}


def _tar(path, members, mode="w:gz"):
    """A tar archive of ``{name: bytes}``."""
    with tarfile.open(path, mode) as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


def test_npz_required_and_optional_arrays(tmp_path):
    arrays = _valid_arrays(4)
    # files_<split> (and class_names, is_vehicle) are optional: rows are then named by their index
    no_files = _npz(tmp_path / "no_files.npz", X_train=arrays["X_train"], y_train=arrays["y_train"])
    bunch = load_cifar10(no_files)
    np.testing.assert_array_equal(bunch.images, arrays["X_train"])
    np.testing.assert_array_equal(bunch.target, arrays["y_train"])
    assert bunch.target.dtype == np.int64 and bunch.images.dtype == np.uint8
    assert bunch.filenames.tolist() == ["X_train[0]", "X_train[1]", "X_train[2]", "X_train[3]"]
    assert load_cifar10(no_files, n_samples=2, random_state=0).data.shape == (2, 3072)
    # the split asked for needs its own X and y
    with pytest.raises(ValueError, match=r"'.*no_files.npz' lacks the array\(s\) X_test, y_test that the 'test' "
                                         r"split needs \(it holds X_train, y_train\)"):
        load_cifar10(no_files, split="test")
    no_labels = _npz(tmp_path / "no_labels.npz", X_train=arrays["X_train"], files_train=arrays["files_train"])
    with pytest.raises(ValueError, match=r"no_labels.npz' lacks the array\(s\) y_train "):
        load_cifar10(no_labels)
    nothing = _npz(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match=r"other.npz' lacks the array\(s\) X_train, y_train .*holds a\)"):
        load_cifar10(nothing)
    # an optional array that is there must be right
    wrong_classes = _npz(tmp_path / "classes.npz", **arrays, class_names=np.array(list("abcdefghij")))
    with pytest.raises(ValueError, match="classes.npz': class_names lists the classes"):
        load_cifar10(wrong_classes)


@pytest.mark.parametrize("name, value, message", [
    ("X_train", np.random.RandomState(0).uniform(0, 1, (4, 32, 32, 3)),
     "X_train has dtype float64, expected uint8 pixel values"),
    ("X_train", np.zeros((4, 32, 32), np.uint8), r"X_train has shape \(4, 32, 32\), expected \(n_images, 32, 32, 3\)"),
    ("X_train", np.zeros((4, 28, 28, 3), np.uint8), r"X_train has shape \(4, 28, 28, 3\)"),
    ("X_train", np.zeros((4, 32, 32, 3), bool), "X_train has dtype bool"),
    ("X_train", np.full((4, 32, 32, 3), 256, np.int16), "X_train holds values from 256 to 256, expected pixel "
                                                          r"values in 0\.\.255"),
    ("X_train", np.full((4, 32, 32, 3), -1, np.int64), "X_train holds values from -1 to -1"),
    ("y_train", np.array([0, 1, 11, -1]), r"y_train holds 2 label\(s\) outside 0\.\.9 .*\[-1, 11\]"),
    ("y_train", np.array([0.0, 1.0, 2.0, 3.0]), r"y_train has dtype float64, expected integer class indices 0\.\.9"),
    ("y_train", np.array([0, 1, 2]), r"y_train has shape \(3,\), expected \(4,\): one label per image of X_train"),
    ("y_train", np.zeros((4, 1), int), r"y_train has shape \(4, 1\)"),
    ("files_train", np.array(["a", "b"]), r"files_train is an array of dtype <U1 and shape \(2,\), expected \(4,\)"),
    ("files_train", np.arange(4), "files_train is an array of dtype int64"),
    ("X_train", np.array(["a", None], dtype=object), "the array X_train cannot be read .*allow_pickle=False"),
])
def test_npz_contents_are_validated(tmp_path, name, value, message):
    arrays = _valid_arrays(4)
    arrays[name] = value
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=f"^'.*bad.npz': {message}"):
        load_cifar10(path)


def test_npz_pixels_of_another_integer_dtype_within_0_255(tmp_path):
    arrays = _valid_arrays(4)
    expected = arrays["X_train"].copy()
    arrays["X_train"] = arrays["X_train"].astype(np.int32)
    arrays["y_train"] = arrays["y_train"].astype(np.uint8)
    bunch = load_cifar10(_npz(tmp_path / "int32.npz", **arrays))
    assert bunch.images.dtype == np.uint8 and bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.images, expected)


def test_damaged_npz_is_reported_as_damaged(tmp_path):
    path = _npz(tmp_path / "whole.npz", **_valid_arrays(4))
    data = path.read_bytes()
    truncated = tmp_path / NPZ_NAME
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"'.*{NPZ_NAME}' is a NumPy .npz archive that cannot be read "
                                         r"\(is the file truncated or corrupt\?\): BadZipFile") as info:
        load_cifar10(truncated)
    assert "neither" not in str(info.value)
    # the same through the folder
    with pytest.raises(ValueError, match="cannot be read"):
        load_cifar10(tmp_path, source="npz")
    # a member whose bytes were overwritten: the central directory is fine, the data are not
    corrupt = tmp_path / "corrupt.npz"
    start = data.index(b"\x93NUMPY") + 200
    corrupt.write_bytes(data[:start] + b"\xff" * 64 + data[start + 64:])
    with pytest.raises(ValueError, match=r"corrupt.npz': the array X_train cannot be read .*Bad CRC-32"):
        load_cifar10(corrupt)


def test_damaged_archive_is_reported_as_damaged(tiny_tar, tmp_path):
    path, _ = tiny_tar
    data = path.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated.tar.gz' is a tar archive that cannot be read "
                                         r"\(is the file truncated or corrupt\?\)") as info:
        load_cifar10(truncated)
    assert "neither" not in str(info.value)
    # a gzip stream cut before the end of its first block
    stub = tmp_path / "stub.tar.gz"
    stub.write_bytes(data[:40])
    with pytest.raises(ValueError, match="stub.tar.gz' is a tar archive that cannot be read"):
        load_cifar10(stub)
    # the same through the folder
    folder = tmp_path / "cifar10"
    folder.mkdir()
    (folder / TAR_NAMES["train"]).write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"{TAR_NAMES['train']}' is a tar archive that cannot be read"):
        load_cifar10(folder, source="jpeg")


@pytest.mark.parametrize("payload, reason", [
    (b"not a jpeg at all", "Pillow does not recognise its content as an image"),
    ("truncated", "OSError"),
])
def test_undecodable_member_is_named(tmp_path, payload, reason):
    if isinstance(payload, str):  # a real JPEG cut in the middle of its data
        payload = _jpeg_bytes(np.random.RandomState(0).randint(0, 256, (32, 32, 3)).astype(np.uint8))
        payload = payload[: len(payload) // 2]
    good = _jpeg_bytes(np.zeros((32, 32, 3), np.uint8))
    members = {"train/cat/0000.jpg": good, "train/cat/0001.jpg": payload}
    path = _tar(tmp_path / "odd.tar.gz", members)
    with pytest.raises(ValueError, match=f"^'.*odd.tar.gz': member 'train/cat/0001.jpg' is not a decodable JPEG "
                                         f"image \\({reason}"):
        load_cifar10(path)
    # the same archive read from a folder
    folder = tmp_path / "cifar10"
    folder.mkdir()
    (folder / TAR_NAMES["train"]).write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match=f"{TAR_NAMES['train']}': member 'train/cat/0001.jpg' is not a decodable"):
        load_cifar10(folder)
    # a subset that does not pick the bad member loads
    assert load_cifar10(_tar(tmp_path / "one.tar.gz", {"train/cat/0000.jpg": good})).data.shape == (1, 3072)


def test_wrong_image_size_message_is_plain(tmp_path):
    payload = _jpeg_bytes(np.zeros((28, 28, 3), np.uint8))
    path = _tar(tmp_path / "small.tar", {"./test/cat/0000.jpg": payload}, mode="w")
    with pytest.raises(ValueError) as info:
        load_cifar10(path, split="test")
    message = str(info.value)
    assert re.search(r"small.tar': member '\./test/cat/0000\.jpg' is 28 x 28 pixels, not 32 x 32\.$", message)
    assert "np." not in message
    wide = _tar(tmp_path / "wide.tar.gz", {"train/dog/0000.jpg": _jpeg_bytes(np.zeros((32, 40, 3), np.uint8))})
    with pytest.raises(ValueError, match="member 'train/dog/0000.jpg' is 40 x 32 pixels, not 32 x 32"):
        load_cifar10(wide)


def test_error_messages_show_no_numpy_reprs(tmp_path):
    arrays = _valid_arrays(4)
    arrays["y_train"] = np.array([0, 1, 2, 12], dtype=np.int32)
    for path in (_npz(tmp_path / "labels.npz", **arrays),
                 _tar(tmp_path / "odd.tar.gz", {"train/cat/0000.jpg": b"junk"})):
        with pytest.raises(ValueError) as info:
            load_cifar10(path)
        assert "np." not in str(info.value) and "array(" not in str(info.value), str(info.value)
