"""Images from a folder (or the embedded sample portraits) as one vector per image."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from semcom import data
from semcom.samples import sample_images

IMAGE_ID_TAG = "image_id"
IMAGE_FILE_TAG = "image_file"


def load_images(folder: str, size: int, limit: int = 0) -> data.ImageSet:
    """The images a source sends (and a metrics sink compares against): the folder's, sorted by
    name, or the sample portraits when ``folder`` is empty."""
    if folder:
        return data.load_folder(folder, (size, size), limit=limit or None)
    files = sample_images()
    return data.ImageSet(np.stack([data.load_image(p, (size, size)) for p in files]), files)


class image_source(gr.sync_block):
    """Float32 images (3 x size x size, values in [0, 1], channel-major) in folder order.

    Every vector carries ``image_id`` (0, 1, 2, ... counting repeats) and ``image_file`` tags.
    With ``repeat`` the folder loops forever; otherwise the source ends after the last image.
    """

    def __init__(self, folder: str = "", size: int = 64, repeat: bool = False, limit: int = 0):
        self.images = load_images(folder, size, limit)
        gr.sync_block.__init__(self, "image_source", [], [(np.float32, 3 * size * size)])
        self.repeat = repeat
        self.flat = self.images.as_float().reshape(len(self.images), -1)

    def work(self, input_items, output_items):
        out = output_items[0]
        first = self.nitems_written(0)
        n = len(out) if self.repeat else min(len(out), len(self.flat) - first)
        if n <= 0:
            return -1
        ids = first + np.arange(n)
        out[:n] = self.flat[ids % len(self.flat)]
        for i, image_id in enumerate(ids):
            self.add_item_tag(0, first + i, pmt.intern(IMAGE_ID_TAG), pmt.from_long(int(image_id)))
            self.add_item_tag(0, first + i, pmt.intern(IMAGE_FILE_TAG),
                              pmt.intern(self.images.files[image_id % len(self.flat)].name))
        return n
