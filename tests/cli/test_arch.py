"""``--arch``: any stack from the command line, the shorthands beside it, and every stack that
cannot work refused in one line before any work."""

import json
import os

import pytest
from typer.testing import CliRunner

from sheetnet.cli import app

runner = CliRunner()
TWO_CONVS = "conv 4 3x3, relu, conv 4 3x3, relu, maxpool 2, dense 10"


def _refused(tmp_path, args, message):
    before = set(os.listdir(tmp_path))
    result = runner.invoke(app, ["export", "--out", str(tmp_path / "a.xlsx"), *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert set(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("args, message", [
    (["--arch", "dense 3, relu, dense 5"], "has 5 units but the data has 2 classes; end with"
                                           " dense 2"),
    (["--arch", "dense 3, sofmax, dense 2"], "'sofmax' is not a layer; write dense N"),
    (["--arch", "conv 2 5x5, dense 2"], "a 5×5 filter is larger than its 4×3 input"),
    (["--net", "cnn", "--arch", "conv 2 3x3, maxpool 3, dense 3"],
     "4×4 maps do not divide into 3×3 pooling windows"),
    (["--arch", "dense 3, dense 2", "--layers", "12,3,2"], "give --arch or --layers, not both"),
    (["--net", "cnn", "--arch", "conv 2 3x3, dense 3", "--filters", "4"],
     "give --arch or --filters, not both"),
    (["--arch", "dense 3, dense 2", "--activation", "relu"],
     "give --arch or --activation, not both"),
    (["--net", "twolayer", "--arch", "dense 3, relu, dense 2"], "--arch is not used by --net"
                                                                " twolayer"),
    (["--arch", "dense 3, relu, dense 2", "--leaky-slope", "0.1"],
     "--leaky-slope goes with --activation leaky-relu"),
    (["--net", "gd", "--arch", "dense 2"], "--arch is not used by this net, --net gd"),
    (["--arch", "flatten, dense 2"], "flatten goes between the convolution and pooling"),
    (["--arch", "dense 3, flatten, dense 2"], "flatten goes between the convolution"),
    (["--net", "cnn", "--arch", "conv 2 3x3, flatten, relu, dense 3"], "relu follows flatten"),
    (["--net", "cnn", "--arch", "conv 2 3x3, flatten, maxpool 2, dense 3"],
     "maxpool 2 follows flatten"),
    (["--net", "cnn", "--arch", "conv 2 3x3, flatten, flatten, dense 3"],
     "flatten follows flatten"),
    # issue 31: the transformer's layers and options
    (["--net", "mlp", "--layer-norm"], "--layer-norm is not used by this net, --net mlp"),
    (["--net", "rnn", "--embed", "4"], "--embed is not used by this net, --net rnn"),
    (["--net", "attention", "--hidden", "4"], "--hidden is not used by this net"),
    (["--net", "attention", "--mlp", "0"], "--mlp 0 must be at least 1"),
    (["--net", "attention", "--arch", "embed 4, attention", "--layer-norm"],
     "give --arch or --layer-norm, not both"),
    (["--arch", "embed 4, dense 2"], "embed 4 reads a text's characters"),
    (["--net", "gru", "--arch", "embed, gru 3"], "embed needs its size D"),
    (["--net", "attention", "--arch", "embed 4, mlp 3"], "put it right after an attention"),
])
def test_stacks_that_cannot_work_are_refused_in_one_line(tmp_path, args, message):
    _refused(tmp_path, args, message)


def test_a_stack_of_convolutions_on_the_mlp_data(tmp_path):
    """--arch is not tied to a preset's kind: the 4×3 digits of 3-5 through a convolution."""
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["train", "--arch", "conv 2 2x2, relu, dense 2", "--json",
                                 str(out), "--blocks", "--iterations", "3"])
    assert result.exit_code == 0, result.output
    blocks = json.loads(out.read_text())["blocks"]
    assert {"F", "zF", "aF", "deltaF", "WO", "deltaO"} <= set(blocks)
    assert len(blocks["zF"][0]) == 64 and len(blocks["zF"][0][0]) == 2  # 64 images, 2 maps


def test_two_convolutions_train_and_show(tmp_path):
    result = runner.invoke(app, ["train", "--net", "digits", "--arch", TWO_CONVS,
                                 "--iterations", "2"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["show", "--net", "digits", "--arch", TWO_CONVS,
                                 "--iterations", "1", "--image", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.count("convolution and pooling") == 2  # a table per convolution


def test_show_draws_every_map_of_any_stack():
    """Pooling the image itself gets a table of its own; a 1×1 map shows its number."""
    result = runner.invoke(app, ["show", "--net", "cnn", "--arch", "maxpool 2, avgpool 3,"
                                 " dense 3", "--image", "1"])
    assert result.exit_code == 0, result.output
    assert "pooling" in result.output and "zᴾ¹" in result.output and "zᴾ²" in result.output
    result = runner.invoke(app, ["show", "--net", "cnn", "--arch", "conv 2 3x3, relu, maxpool"
                                 " 2, conv 2 2x2, relu, dense 3", "--image", "1"])
    assert result.exit_code == 0, result.output
    assert "2.29" in result.output  # zᶠ² of filter 1, a 1×1 map


def test_the_shorthands_are_the_stacks_they_describe():
    from sheetnet import presets

    def arch(net, **options):
        return presets.get(net).run(presets.Options(**options)).model.arch

    assert arch("mlp") == "dense 3, sigmoid, dense 2"
    assert arch("mlp", layers="12,5,4,2", activation="tanh") == \
        "dense 5, tanh, dense 4, tanh, dense 2"
    assert arch("cnn", filters=2, filter_size=2, pool="average", pool_size=7, padding=1,
                activation="relu") == "conv 2 2x2 pad 1, relu, avgpool 7, dense 3"
    assert arch("digits") == "conv 4 3x3, sigmoid, maxpool 2, dense 10"
    assert arch("mlp", arch="dense 3, sigmoid, dense 2") == arch("mlp")
