"""Data sets: the built-in ones and a user's CSV, refused in one line when wrong."""

import numpy as np
import pytest

from sheetnet.core import data
from sheetnet.errors import SheetnetError
from tests.conftest import write_csv


def test_builtin_digits01():
    ds = data.builtin("digits01")
    assert ds.x.shape == (64, 12)
    assert ds.classes == (0.0, 1.0)
    assert ds.targets[:32, 0].sum() == 32 and ds.targets[32:, 1].sum() == 32
    assert ds.pixel_names()[:4] == ["p11", "p12", "p13", "p21"]


@pytest.mark.parametrize("text, shape, message", [
    ("", (1, 2), "empty"),
    ("label,p11,p12\n", (1, 2), "no images"),
    ("label,p11,p12\na,1,0\nb,1\n", (1, 2), "line 3 has 2 columns"),
    ("label,p11,p12\na,1,x\nb,1,0\n", (1, 2), "pixel 'x' that is not a number"),
    ("label,p11,p12\na,1,0\nb,1,0\n", (2, 2), "do not fit --shape 2x2"),
    ("label,p11,p12\na,1,0\na,1,1\n", (1, 2), "only one class"),
    ("p11,p12,label\n1,0,a\n", (1, 2), "first column must be `label`"),
    ("label,p11,p12\na,1,nan\nb,1,0\n", (1, 2), "not finite"),
    ("label,p11,p12\na,1,0\nA,1,0\n", (1, 2), "upper/lower case"),
])
def test_bad_csv(tmp_path, text, shape, message):
    path = write_csv(tmp_path / "d.csv", text)
    with pytest.raises(SheetnetError, match=message):
        data.load_csv(path, shape)


def test_missing_csv(tmp_path):
    with pytest.raises(SheetnetError, match="no such file"):
        data.load_csv(tmp_path / "nope.csv", (1, 2))


def test_text_labels_sorted_classes(tmp_path):
    path = write_csv(tmp_path / "d.csv", "label,p11,p12\ncat,1,0\n=bad,0,1\ndog,1,1\n")
    ds = data.load_csv(path, (1, 2))
    assert ds.classes == ("=bad", "cat", "dog")
    np.testing.assert_array_equal(ds.targets, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])


@pytest.mark.parametrize("text", ["4", "4x", "ax3", "0x3", "4x3x0", "4x3x2x1"])
def test_bad_shape(text):
    with pytest.raises(SheetnetError, match="shape"):
        data.parse_shape(text)


@pytest.mark.parametrize("text, shape", [("4x3", (4, 3, 1)), ("8×8×3", (8, 8, 3))])
def test_shape_with_channels(text, shape):
    assert data.parse_shape(text) == shape


def test_channels_are_read_channel_by_channel(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("label," + ",".join(f"p{i}" for i in range(8)) + "\n"
                    "a,1,2,3,4,5,6,7,8\nb,0,0,0,0,0,0,0,0\n")
    ds = data.load_csv(path, (2, 2, 2))
    assert ds.channels == 2 and ds.shape == (2, 2) and ds.shape_text == "2x2x2"
    np.testing.assert_array_equal(ds.x[0].reshape(2, 2, 2)[1], [[5, 6], [7, 8]])
    assert ds.pixel_names()[:5] == ["c1.p11", "c1.p12", "c1.p21", "c1.p22", "c2.p11"]
