import numpy as np
import pytest
from PIL import Image

from semcom import data


def test_missing_and_empty_folders_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        data.load_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        data.load_folder(tmp_path / "empty")


def test_corrupt_skipped_and_named_grey_and_rgba_converted(tmp_path):
    Image.fromarray(np.full((109, 89), 128, np.uint8), "L").save(tmp_path / "a_grey.png")
    Image.fromarray(np.full((50, 60, 4), 200, np.uint8), "RGBA").save(tmp_path / "b_rgba.png")
    sub = tmp_path / "nested"
    sub.mkdir()
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(sub / "c.jpg")
    (tmp_path / "d_broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.warns(UserWarning, match="d_broken.jpg"):
        s = data.load_folder(tmp_path, (64, 64))
    assert s.images.shape == (3, 64, 64, 3) and s.images.dtype == np.uint8
    assert [f.name for f in s.files] == ["a_grey.png", "b_rgba.png", "c.jpg"]
    assert [f.name for f, _ in s.skipped] == ["d_broken.jpg"]
    assert s.as_float().shape == (3, 3, 64, 64) and s.as_float().max() <= 1.0


def test_celeba_framing_gets_a_face_square_others_a_centre_square():
    assert data.face_crop_box(89, 109) == (9, 27, 80, 98)
    assert data.face_crop_box(100, 60) == (20, 0, 80, 60)


def test_identity_split_is_disjoint_deterministic_and_complete(image_dir):
    ids = data.read_identities(image_dir)
    train = data.load_folder(image_dir, split="train", test_fraction=0.3)
    test = data.load_folder(image_dir, split="test", test_fraction=0.3)
    assert len(train) + len(test) == 48 and len(test) > 0
    assert not {ids[f.name] for f in train.files} & {ids[f.name] for f in test.files}
    again = data.load_folder(image_dir, split="test", test_fraction=0.3)
    assert again.files == test.files


def test_celeba_split_holds_out_whole_identities(celeba):
    files = data.list_images(celeba)
    ids = data.read_identities(celeba)
    test = data.split_files(files, celeba, "test")
    train = data.split_files(files, celeba, "train")
    assert len(files) == len(test) + len(train) and 0.05 < len(test) / len(files) < 0.15
    assert not {ids[f.name] for f in test} & {ids[f.name] for f in train}
