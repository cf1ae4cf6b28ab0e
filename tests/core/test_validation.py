"""Validation and early stopping (issue 19): a seeded share of the images is held out, never
trained on, and evaluated every iteration (no dropout, batch norm's running averages). Checked
against a run on the training images alone and against an evaluation pass written here."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import sheetnet
from sheetnet.cli import app
from sheetnet.core import descent
from sheetnet.core import net as net_mod
from sheetnet.errors import SheetnetError


def test_the_held_out_share_is_seeded_and_never_in_a_batch():
    run = sheetnet.train("mlp", validation=0.25, batch_size=10, iterations=12, seed=3).run
    held = run.held
    assert held.sum() == 16 and set(np.unique(held)) == {0.0, 1.0}  # round(0.25 × 64)
    assert not (run.batches[:, held == 1]).any()
    assert run.batches.sum(axis=0)[held == 0].min() >= 1  # every trained image is used
    again = sheetnet.train("mlp", validation=0.25, iterations=1, seed=3).run
    np.testing.assert_array_equal(again.held, held)
    other = sheetnet.train("mlp", validation=0.25, iterations=1, seed=4).run
    assert not np.array_equal(other.held, held)


def test_training_with_images_held_out_is_training_on_the_others_alone():
    with_validation = sheetnet.train("mlp", validation=0.3, iterations=15)
    run = with_validation.run
    kept = run.held == 0
    alone = descent.train_net(run.model, run.params, run.data.x[kept], run.data.targets[kept],
                          run.eta, 15)
    for a, b in zip(with_validation.trace.iterations, alone.iterations, strict=True):
        assert a["C_T"] == pytest.approx(b["C_T"], rel=1e-13)
        assert a["accuracy"] == pytest.approx(b["accuracy"])
        np.testing.assert_allclose(a["W2"], b["W2"], rtol=1e-13)


def _evaluated(net, params, x, t):
    """Mean C and accuracy of a forward pass with no step inputs: evaluation mode."""
    z, _, _ = net_mod.forward(net, params, x, show=False)
    out = net.output.forward(z, t, len(x))
    return float(np.mean(out["C"])), float(np.mean(out["correct"]))


@pytest.mark.parametrize("options", [
    {"dropout": 0.4},
    {"batch_norm": True, "batch_size": 16},
    {"arch": "dense 5, batchnorm, tanh, dropout 0.3, dense 2", "optimizer": "adam",
     "eta": 0.05},
])
def test_the_validation_cost_is_an_evaluation_pass_of_the_held_out_images(options):
    result = sheetnet.train("mlp", validation=0.25, iterations=6, **options)
    run, net = result.run, result.run.model
    held = run.held != 0
    for k, blocks in enumerate(result.trace.iterations):
        params = {name: blocks[name] for name in run.params}
        params.update({name: blocks[name] for name in net.carried_start()})  # this step's
        cost, accuracy = _evaluated(net, params, run.data.x[held], run.data.targets[held])
        assert blocks["validation_cost"] == pytest.approx(cost, rel=1e-12), k
        assert blocks["validation_accuracy"] == pytest.approx(accuracy)
        trained = np.sum(blocks["C"][~held])
        assert blocks["C_T"] == pytest.approx(trained, rel=1e-13)
        assert blocks["C_per_image"] == pytest.approx(trained / np.count_nonzero(~held))


def test_patience_stops_where_the_validation_cost_last_improved_n_iterations_ago():
    full = sheetnet.train("digits", arch="dense 64, relu, dense 10", validation=0.8,
                          optimizer="adam", eta=0.01, iterations=60, init_scheme="he")
    cost = full.trace.series("validation_cost")
    best = [int(np.argmin(cost[:k + 1])) for k in range(len(cost))]
    np.testing.assert_array_equal(full.trace.series("best_iteration"), best)
    stop = next(k for k in range(len(cost)) if k - best[k] >= 5)
    assert stop < 60  # this net overfits its 20 images: the validation cost turns up
    cut = sheetnet.train("digits", arch="dense 64, relu, dense 10", validation=0.8,
                         optimizer="adam", eta=0.01, iterations=60, init_scheme="he",
                         patience=5)
    assert cut.run.iterations == stop and len(cut.trace.iterations) == stop + 1
    np.testing.assert_allclose(cut.trace.cost, full.trace.cost[:stop + 1], rtol=0)


def test_train_json_carries_validation_best_iteration_and_the_evaluation(tmp_path):
    out = tmp_path / "run.json"
    result = CliRunner().invoke(app, ["train", "--net", "mlp", "--validation", "0.25",
                                      "--dropout", "0.3", "--iterations", "8", "--json",
                                      str(out)])
    assert result.exit_code == 0, result.output
    assert "evaluated (no dropout" in result.output
    record = json.loads(out.read_text())
    assert len(record["validation_cost"]) == len(record["validation_accuracy"]) == 9
    assert record["best_iteration"] == int(np.argmin(record["validation_cost"]))
    trained = sheetnet.train("mlp", validation=0.25, dropout=0.3, iterations=8)
    run, last = trained.run, trained.trace.iterations[-1]
    kept = run.held == 0
    cost, accuracy = _evaluated(run.model, {n: last[n] for n in run.params},
                                run.data.x[kept], run.data.targets[kept])
    assert record["evaluation"]["cost"] == pytest.approx(cost * kept.sum(), rel=1e-12)
    assert record["evaluation"]["accuracy"] == pytest.approx(accuracy)


@pytest.mark.parametrize("options, message", [
    ({"validation": 0.0}, "more than 0 and less than 1"),
    ({"validation": 1.0}, "more than 0 and less than 1"),
    ({"validation": 0.001}, "holds out 0 of the 64"),
    ({"patience": 3}, "goes with --validation"),
    ({"validation": 0.5, "patience": 0}, "at least 1"),
    ({"validation": 0.5, "batch_size": 40}, "images trained on"),
    ({"validation": 0.98, "batch_norm": True}, "only 1 image is trained on"),
])
def test_bad_validation_options_are_one_line(options, message):
    with pytest.raises(SheetnetError, match=message):
        sheetnet.train("mlp", iterations=2, **options)


def test_twolayer_refuses_validation_its_check_sheet_is_written_without():
    for options in ({"validation": 0.3}, {"validation": 0.3, "patience": 2}):
        with pytest.raises(SheetnetError, match="--validation"):
            sheetnet.train("twolayer", iterations=2, **options)
