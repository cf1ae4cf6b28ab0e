"""The spread of each layer's outputs and errors (issue 19): which blocks are watched, and that
the figures show what they are for: sigmoid's errors vanish going back through the layers,
relu's with He weights hold their size, batch norm's ẑ has mean 0 and spread 1."""

import numpy as np
from typer.testing import CliRunner

import sheetnet
from sheetnet.cli import app
from sheetnet.core import statistics


def test_each_weighted_layer_is_watched_by_its_outputs_and_errors():
    mlp = sheetnet.train("mlp", iterations=1).run.model
    assert statistics.watched(mlp) == [("2", "a2", "delta2"), ("3", "a3", "delta3")]
    cnn = sheetnet.train("cnn", batch_norm=True, iterations=1).run.model
    assert statistics.watched(cnn) == [("F", "aF", "deltaF"), ("O", "aO", "deltaO")]


def _deep(activation: str, scheme: str):
    arch = ", ".join([f"dense 32, {activation}"] * 4 + ["dense 10"])
    return sheetnet.train("digits", arch=arch, init_scheme=scheme, iterations=1).trace


def _error_spread(trace) -> np.ndarray:
    first = trace.iterations[0]
    return np.array([float(first[f"std_delta{layer}"]) for layer in range(2, 6)])


def test_sigmoid_errors_vanish_going_back_and_relu_with_he_holds_them():
    sigmoid = _error_spread(_deep("sigmoid", "normal"))
    relu = _error_spread(_deep("relu", "he"))
    assert np.all(np.diff(sigmoid) > 0)  # smaller at every step back towards the input
    assert sigmoid[-1] / sigmoid[0] > 3  # measured 3.7 over four layers of 32
    assert 0.8 < relu[-1] / relu[0] < 1.25  # measured 1.1


def test_the_figures_are_the_blocks_mean_and_population_spread():
    trace = sheetnet.train("mlp", batch_norm=True, iterations=2).trace
    for blocks in trace.iterations:
        a = np.asarray(blocks["a2"])
        assert float(blocks["mean_a2"]) == np.sum(a) / a.size or np.isclose(
            float(blocks["mean_a2"]), np.sum(a) / a.size, rtol=1e-15)
        spread = np.sqrt(np.sum((a - a.mean()) ** 2) / a.size)
        assert np.isclose(float(blocks["std_a2"]), spread, rtol=1e-13)
        zhat = np.asarray(blocks["zhat2"])  # normalised over the batch: per unit 0 and 1
        np.testing.assert_allclose(zhat.mean(axis=0), 0, atol=1e-14)
        np.testing.assert_allclose(zhat.std(axis=0), 1, rtol=1e-4)


def test_show_statistics_prints_both_tables_and_refuses_an_exercise():
    runner = CliRunner()
    result = runner.invoke(app, ["show", "--statistics", "--iterations", "5"])
    assert result.exit_code == 0, result.output
    assert "standard" in result.output and "δ²" in result.output
    for net in ("gd", "gan"):  # an exercise, and a GAN: a table of their iterations
        refused = runner.invoke(app, ["show", "--net", net, "--statistics"])
        assert refused.exit_code == 2 and "shows a table of its iterations" in refused.output
    refused = runner.invoke(app, ["show", "--net", "gan", "--iteration", "3"])
    assert refused.exit_code == 2 and "--iteration and --image pick an image's" in refused.output
