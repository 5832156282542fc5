"""Image patches as a row source, and average pooling of feature maps.

The convolutional layer treats every patch of every image as one row: a
random convolution followed by a 1 x 1 filter is exactly the finite layer of
``_stack`` applied to the patch matrix, whose row ``i * S + s`` is the patch
of image ``i`` at output position ``s`` (``S`` positions per image). That
matrix is ``S * patch_size`` times larger than the images, so it is never
held: :class:`PatchRows` extracts the rows a consumer asks for, block by
block, and ``_features.LiftedRows`` lifts them as it lifts any other source.
"""

import math
from typing import NamedTuple

import numpy as np

from ._features import row_slices, rows_per_block
from ._kernels import extract_patches


class PatchGeometry(NamedTuple):
    """Sizes of a patch extraction; ``as_array`` is what the compiled kernel reads."""

    height: int
    width: int
    channels: int
    patch_height: int
    patch_width: int
    stride: int
    pad_top: int
    pad_left: int
    out_height: int
    out_width: int

    @property
    def positions(self):
        return self.out_height * self.out_width

    @property
    def patch_size(self):
        return self.patch_height * self.patch_width * self.channels

    def as_array(self):
        return np.asarray(self, dtype=np.int64)


def patch_geometry(image_shape, patch_size, stride, padding):
    """The geometry of ``patch_size`` patches of images of ``image_shape``.

    A patch larger than the image along an axis is cut to the image's size
    along it (so that a one-row "image" gets one-row patches). ``"same"``
    pads with zeros so that the output has ``ceil(size / stride)`` positions
    along each axis, the extra row or column of an even patch going to the
    bottom or right; ``"valid"`` keeps only patches inside the image.
    """
    height, width, channels = image_shape
    patch_height, patch_width = min(patch_size[0], height), min(patch_size[1], width)
    if padding == "same":
        out_height, out_width = math.ceil(height / stride), math.ceil(width / stride)
        pad_top = max((out_height - 1) * stride + patch_height - height, 0) // 2
        pad_left = max((out_width - 1) * stride + patch_width - width, 0) // 2
    else:
        out_height, out_width = (height - patch_height) // stride + 1, (width - patch_width) // stride + 1
        pad_top = pad_left = 0
    return PatchGeometry(height, width, channels, patch_height, patch_width, stride, pad_top, pad_left,
                         out_height, out_width)


class PatchRows:
    """The patch matrix of ``images`` (n, height * width * channels), read by row blocks.

    Same interface as ``_features.ArrayRows``: ``n_rows``, ``width``,
    ``dtype``, ``streamed``, ``offset``, ``take(rows)`` and ``blocks()``.
    Blocks are sized so that one block of *lifted* rows (``lifted_width``
    features each) fits scikit-learn's ``working_memory``.
    """

    offset = None

    def __init__(self, images, geometry, n_threads=1, lifted_width=None):
        self.images = np.ascontiguousarray(images)
        self.geometry = geometry
        self._geometry = geometry.as_array()
        self._n_threads = n_threads
        self.n_rows = self.images.shape[0] * geometry.positions
        self.width = geometry.patch_size
        self.dtype = self.images.dtype
        row_bytes = max(self.width, lifted_width or 0) * self.dtype.itemsize
        self.block_rows = rows_per_block(self.n_rows, row_bytes)
        self.streamed = self.block_rows < self.n_rows

    def take(self, rows):
        return extract_patches(self.images, self._geometry, rows, self._n_threads)

    def blocks(self, block_rows=None):
        for rows in row_slices(self.n_rows, block_rows or self.block_rows):
            yield rows, self.take(rows)


def average_pool(maps, pool):
    """Mean over non-overlapping ``pool x pool`` windows of maps (n, height, width, k).

    Windows at the bottom and right edges that the map does not fill are
    averaged over the positions they hold.
    """
    if pool == 1:
        return maps
    for axis in (1, 2):
        starts = np.arange(0, maps.shape[axis], pool)
        counts = np.diff(np.append(starts, maps.shape[axis])).astype(maps.dtype)
        shape = [1, 1, 1, 1]
        shape[axis] = counts.size
        maps = np.add.reduceat(maps, starts, axis=axis) / counts.reshape(shape)
    return maps


def pooled_shape(geometry, pool, n_components):
    return (math.ceil(geometry.out_height / pool), math.ceil(geometry.out_width / pool), n_components)
