"""--labels and --per-class (issue 32, transfer learning's data): the kept classes numbered from
0, K training images of each, the images kept apart to test on narrowed to the same classes."""

from collections import Counter

import numpy as np
import pytest

import sheetnet
from sheetnet.audit.verify import verify
from sheetnet.errors import SheetnetError


def test_the_kept_classes_are_numbered_from_0_and_each_keeps_k_images():
    whole = sheetnet.train("mnist", iterations=1, blocks=False).run
    run = sheetnet.train("mnist", classes="5,6,7,8,9", per_class=20, iterations=1,
                         blocks=False).run
    assert run.data.classes == (5.0, 6.0, 7.0, 8.0, 9.0) and run.model.outputs == 5
    assert Counter(run.data.labels) == {c: 20 for c in (5.0, 6.0, 7.0, 8.0, 9.0)}
    # the first 20 of each digit, in the training images' order, the same pixels
    for c in (5.0, 9.0):
        rows = [i for i, label in enumerate(whole.data.labels) if label == c][:20]
        mine = [i for i, label in enumerate(run.data.labels) if label == c]
        np.testing.assert_array_equal(run.data.x[mine], whole.data.x[rows])
    # a 7 is class 2: its target is the third unit
    seven = run.data.labels.index(7.0)
    np.testing.assert_array_equal(run.data.targets[seven], [0, 0, 1, 0, 0])
    # tested on every kept-apart image of those digits, and on no other
    held = [label for label in whole.test.labels if label >= 5]
    assert sorted(run.test.labels) == sorted(held)


def test_labels_alone_keep_every_image_of_those_classes(tmp_path):
    result = sheetnet.train("digits", classes=[1, 7], iterations=1)
    run = result.run
    whole = sheetnet.train("digits", iterations=1).run
    assert run.data.n_images == sum(label in (1.0, 7.0) for label in whole.data.labels)
    out = sheetnet.export(result, tmp_path / "d.xlsx")
    assert verify(out).ok


@pytest.mark.parametrize("options, message", [
    (dict(classes="5,x"), "x is not a class of this data; its classes are 0, 1, 2"),
    (dict(classes="5"), "keeps one class"),
    (dict(classes="5,5,6"), "names a class twice"),
    (dict(classes="5,,6"), "separated by single commas"),
    (dict(per_class=0), "--per-class 0 must be at least 1"),
    (dict(classes="1,2", per_class=11), "class 1 has 10 training images; give at most 10"),
])
def test_a_selection_it_cannot_make_is_one_line(options, message):
    with pytest.raises(SheetnetError, match=message):
        sheetnet.train("digits", iterations=1, **options)


def test_regression_data_has_no_classes_to_pick():
    with pytest.raises(SheetnetError, match="target values"):
        sheetnet.train("curve", classes="0,1", iterations=1)
