"""Images from a folder (or the embedded sample portraits) as one vector per image."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from semcom import data
from semcom.samples import load_samples

from .packets import queue_images

IMAGE_ID_TAG = "image_id"
IMAGE_FILE_TAG = "image_file"


def load_images(folder: str, size: int, limit: int = 0) -> data.ImageSet:
    """The images a source sends (and a metrics sink compares against): the folder's, sorted by
    name, or the sample portraits when ``folder`` is empty."""
    if folder:
        return data.load_folder(folder, (size, size), limit=limit or None)
    return load_samples((size, size))


class image_source(gr.sync_block):
    """Float32 images (3 x size x size, values in [0, 1], channel-major) in folder order.

    Every vector carries ``image_id`` (0, 1, 2, ... counting repeats) and ``image_file`` tags.
    Image ``image_id`` is the folder's file ``(image_id + offset) % count``: two sources on one
    folder with different offsets send different images side by side (host and private).
    With ``repeat`` the folder loops forever; otherwise the source ends after the last image.
    """

    def __init__(self, folder: str = "", size: int = 64, repeat: bool = False, limit: int = 0, offset: int = 0):
        self.images = load_images(folder, size, limit)
        gr.sync_block.__init__(self, "image_source", [], [(np.float32, 3 * size * size)])
        queue_images(self, 1)
        self.repeat = repeat
        self.offset = offset
        self.flat = self.images.as_float().reshape(len(self.images), -1)

    def work(self, input_items, output_items):
        out = output_items[0]
        first = self.nitems_written(0)
        n = len(out) if self.repeat else min(len(out), len(self.flat) - first)
        if n <= 0:
            return -1
        ids = first + np.arange(n)
        files = (ids + self.offset) % len(self.flat)
        out[:n] = self.flat[files]
        for i, (image_id, file) in enumerate(zip(ids, files)):
            self.add_item_tag(0, first + i, pmt.intern(IMAGE_ID_TAG), pmt.from_long(int(image_id)))
            self.add_item_tag(0, first + i, pmt.intern(IMAGE_FILE_TAG), pmt.intern(self.images.files[file].name))
        return n
