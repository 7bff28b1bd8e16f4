import numpy as np

from tests.imagegen import make_dataset, write_image
from train.scan import scan_dataset
from train.split import make_split


def test_arrays_are_uint8_model_input_with_labels(tmp_path):
    from train.dataset import load_arrays, to_dataset

    make_dataset(tmp_path, n_train=3, n_val=2)
    write_image(tmp_path / "train" / "dogs" / "x.png", size=(30, 70), fmt="PNG")
    split = make_split(scan_dataset(tmp_path), seed=0, image_size=(32, 32))
    images, labels = load_arrays(split, "train")
    assert images.shape == (7, 32, 32, 3) and images.dtype == np.uint8
    assert labels.tolist() == split.labels("train")
    assert load_arrays(split, "train")[0] is images
    batch, batch_labels = next(iter(to_dataset(images, labels, 4, shuffle=False, seed=0)))
    assert batch.dtype.name == "float32" and batch.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(batch.numpy(), images[:4].astype(np.float32))
    np.testing.assert_array_equal(batch_labels.numpy(), labels[:4])


def test_solid_colour_survives_decode_and_resize(tmp_path):
    from PIL import Image

    from train.dataset import decode_files

    path = tmp_path / "flat.png"
    Image.new("RGB", (90, 50), (10, 120, 250)).save(path)
    pixels = decode_files([str(path)], (16, 16))
    assert pixels.shape == (1, 16, 16, 3)
    assert (pixels.reshape(-1, 3) == [10, 120, 250]).all()
