"""Checkpoints (issue 21): a run saved after its last update goes on as if it had never stopped,
and a window of it (a few images, a few iterations) takes the same steps the run would."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from sheetnet import notation as names
from sheetnet import presets
from sheetnet.cli import app
from sheetnet.core import checkpoint
from sheetnet.errors import SheetnetError
from sheetnet.presets import resume
from sheetnet.presets.options import Options
from tests.conftest import assert_same_run, refused

runner = CliRunner()

# nets and options whose state carries across a checkpoint in every way it can: the rule's
# state and its step count (Adam's bias correction, a decaying η), the batch order, dropout's
# masks, batch norm's running averages, images held out
RUNS = {
    "cnn adam": ("cnn", dict(optimizer="adam", batch_size=8, eta=0.01)),
    "mlp momentum, decay, dropout": ("mlp", dict(optimizer="momentum", batch_size=16,
                                                 eta_decay=0.95, layers="12,6,2",
                                                 dropout=0.3)),
    "mlp batch norm, rmsprop, validation": ("mlp", dict(optimizer="rmsprop", batch_size=8,
                                                        batch_norm=True, layers="12,5,2",
                                                        validation=0.2, eta=0.01)),
    "xor gd": ("xor", dict()),
    "rnn adam": ("rnn", dict(optimizer="adam", batch_size=5)),
    "lstm adagrad": ("lstm", dict(optimizer="adagrad", hidden=4)),
    "gru adam": ("gru", dict(optimizer="adam", hidden=3, batch_size=4)),
    "attention rmsprop, layer norm": ("attention", dict(optimizer="rmsprop", eta=0.005,
                                                        layer_norm=True, embed=4, mlp=6)),
}


def _trained(net: str, iterations: int, **options):
    preset = presets.get(net)
    opts = Options(iterations=iterations, **options)
    run = preset.run(opts)
    return preset, opts, run, preset.trace(run)


@pytest.mark.parametrize("case", list(RUNS))
def test_a_run_goes_on_from_its_checkpoint_as_if_it_never_stopped(case, tmp_path):
    net, options = RUNS[case]
    preset, opts, run, first = _trained(net, 11, **options)
    path = tmp_path / "ck.npz"
    resume.save(preset, opts, run, first, path)
    ck = checkpoint.load(path)
    assert ck.step == 12 and ck.net == net and ck.optimizer == run.rule.name
    on = resume.continued(preset, ck, 7)
    assert on.start == 12 and on.iterations == 7
    rest = preset.trace(on)
    _, _, _, whole = _trained(net, 19, **options)
    for k, blocks in enumerate(rest.iterations):  # iteration k here is the run's 12 + k
        for name in (*run.params, "C_T"):
            assert_same_run(blocks[name], whole.iterations[12 + k][name])
    for name in run.params:
        assert_same_run(rest.final[name], whole.final[name])


def test_the_checkpoint_holds_the_parameters_after_the_last_update(tmp_path):
    preset, opts, run, trace = _trained("cnn", 3, optimizer="adam", eta=0.05)
    resume.save(preset, opts, run, trace, tmp_path / "ck.npz")
    ck = checkpoint.load(tmp_path / "ck.npz")
    last = trace.iterations[-1]
    h = run.hyper
    for p in run.params:  # p' = p − η·m̂/(√v̂ + ε), stated here from the definition
        m, v = last[names.state("m", p)], last[names.state("v", p)]
        m_hat, v_hat = m / (1 - h["beta1"] ** 4), v / (1 - h["beta2"] ** 4)
        np.testing.assert_allclose(ck.params[p], last[p] - 0.05 * m_hat / (np.sqrt(v_hat)
                                                                           + h["epsilon"]),
                                   rtol=1e-13, atol=1e-15)
        assert set(ck.state[p]) == {"m", "v"}  # m̂ and v̂ follow from them
        np.testing.assert_array_equal(ck.state[p]["m"], m)
    assert ck.options["optimizer"] == "adam" and ck.options["iterations"] == 3


def test_a_window_on_the_next_batch_takes_the_runs_own_steps(tmp_path):
    preset, opts, run, trace = _trained("cnn", 5, optimizer="adam", batch_size=8, eta=0.01)
    resume.save(preset, opts, run, trace, tmp_path / "ck.npz")
    ck = checkpoint.load(tmp_path / "ck.npz")
    on = resume.continued(preset, ck, 1)
    ahead = preset.trace(on)
    window = resume.window(preset, ck, 1, 8, None)
    assert window.n_images == 8 and window.start == 6 and window.batches is None
    np.testing.assert_array_equal(window.data.x, on.data.x[on.batches[0] == 1])
    seen = preset.trace(window)
    for name in run.params:  # the same step on the same images, from the same state
        np.testing.assert_array_equal(seen.iterations[0][name], ck.params[name])
        np.testing.assert_allclose(seen.iterations[1][name], ahead.iterations[1][name],
                                   rtol=1e-12, atol=1e-15)
    picked = resume.window(preset, ck, 2, None, "6, 1, 41")  # numbered from 1
    np.testing.assert_array_equal(picked.data.x, on.data.x[[5, 0, 40]])
    assert picked.data.classes == on.data.classes and picked.iterations == 2


def test_train_from_a_checkpoint_on_the_command_line(tmp_path):
    ck, a, b, whole = (tmp_path / n for n in ("ck.npz", "a.json", "b.json", "c.json"))
    common = ["--net", "cnn", "--optimizer", "adam", "--batch-size", "8", "--every", "1"]
    assert runner.invoke(app, ["train", *common, "--iterations", "6", "--checkpoint", str(ck),
                               "--json", str(a)]).exit_code == 0
    result = runner.invoke(app, ["train", "--from", str(ck), "--iterations", "4", "--every",
                                 "1", "--json", str(b)])
    assert result.exit_code == 0, result.output
    assert "after iteration 6 (7 updates, adam)" in result.output
    assert "│        11 │" in result.output  # the run's own iteration numbers
    assert runner.invoke(app, ["train", *common, "--iterations", "11", "--json",
                               str(whole)]).exit_code == 0
    first, then, straight = (json.loads(p.read_text()) for p in (a, b, whole))
    assert then["first_iteration"] == 7
    assert_same_run(first["cost"] + then["cost"], straight["cost"])
    assert then["cost_iterations"] == list(range(7, 12))


def test_window_and_checkpoint_errors(tmp_path):
    ck = tmp_path / "ck.npz"
    assert runner.invoke(app, ["train", "--net", "cnn", "--iterations", "2", "--checkpoint",
                               str(ck)]).exit_code == 0
    out = str(tmp_path / "w.xlsx")
    refused(["export", "--from", ck, "--eta", "0.5", "--out", out],
            "--eta cannot be given with --from", tmp_path)
    refused(["export", "--from", ck, "--iterations", "0", "--out", out],
            "--iterations 0 must be at least 1", tmp_path)
    refused(["export", "--images", "4", "--out", out], "goes with --from", tmp_path)
    refused(["export", "--from", tmp_path / "none.npz", "--out", out], "no such file",
            tmp_path)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    refused(["export", "--from", tmp_path / "bad.npz", "--out", out], "not a checkpoint",
            tmp_path)
    with np.load(ck) as f:
        arrays = {k: f[k] for k in f.files}
    for key, value, says in (("param:F", np.array(["x"]), "not real numbers"),
                             ("param:F", np.full((3, 3, 3), np.nan), "F is not finite")):
        np.savez(tmp_path / "edited.npz", **{**arrays, key: value})
        refused(["train", "--from", tmp_path / "edited.npz"], says, tmp_path)
    for options in ({"batch_size": "eight"}, {"hyper": {"momentum": 0.5}}):
        arrays["options"] = np.array(json.dumps(options))
        np.savez(tmp_path / "edited.npz", **arrays)
        refused(["train", "--from", tmp_path / "edited.npz"], "options are not options"
                " sheetnet writes", tmp_path)
    refused(["export", "--from", ck, "--pick", "3,99", "--out", out], "--pick 99 is not one of",
            tmp_path)
    refused(["export", "--from", ck, "--pick", "3,3", "--out", out], "given twice", tmp_path)
    refused(["export", "--from", ck, "--images", "2", "--pick", "3", "--out", out], "not both",
            tmp_path)
    refused(["export", "--from", ck, "--net", "mlp", "--out", out], "of --net cnn", tmp_path)
    refused(["train", "--net", "gd", "--checkpoint", tmp_path / "r.npz"],
            "--net gd has no parameters to save", tmp_path)
    refused(["train", "--net", "cnn", "--checkpoint", ck], "exists", tmp_path)
    refused(["export", "--from", ck, "--images", "200", "--out", out], "must be 1 to 96",
            tmp_path)


def test_a_window_of_a_net_with_batch_norm_starts_from_its_running_averages(tmp_path):
    preset, opts, run, trace = _trained("mlp", 6, batch_norm=True, layers="12,4,2",
                                        optimizer="adam", batch_size=16)
    resume.save(preset, opts, run, trace, tmp_path / "ck.npz")
    ck = checkpoint.load(tmp_path / "ck.npz")
    assert set(ck.carried) == {"rmean2", "rvar2"}
    np.testing.assert_array_equal(ck.carried["rvar2"], trace.iterations[-1]["rvar2"])
    on = resume.continued(preset, ck, 1)
    ahead = preset.trace(on)
    window = resume.window(preset, ck, 1, 16, None)  # the next batch: the run's own step
    seen = preset.trace(window)
    for name in ("rmean2", "rvar2", "W2", "bn_gamma2"):  # the step on the same batch
        np.testing.assert_allclose(seen.iterations[0][name], ahead.iterations[0][name],
                                   rtol=1e-12, err_msg=name)
    for name in ("W2", "bn_gamma2", "bn_beta2"):  # (its next batch is the run's next, not ours)
        np.testing.assert_allclose(seen.iterations[1][name], ahead.iterations[1][name],
                                   rtol=1e-11, atol=1e-14, err_msg=name)
    assert not np.allclose(seen.iterations[0]["rvar2"], 1.0)  # not the averages' start


def test_a_window_too_big_says_what_fits(tmp_path):
    preset = presets.get("mnist")
    opts = Options(iterations=1, batch_size=4)
    run = preset.run(opts)
    trace = preset.trace(run, keep=["C_batch"])  # the last iteration is kept whole
    resume.save(preset, opts, run, trace, tmp_path / "ck.npz")
    ck = checkpoint.load(tmp_path / "ck.npz")
    with pytest.raises(SheetnetError, match=r"window of 400 images over 2 iterations is beyond"
                                            r".*; what fits: --images \d+$") as e:
        resume.window(preset, ck, 2, 400, None)
    fits = int(str(e.value).split("--images ")[1])
    assert resume.window(preset, ck, 2, fits, None).n_images == fits  # what it says fits, fits
    with pytest.raises(SheetnetError,
                       match=r"4 images over 900 iterations.*; what fits: --iterations \d+$"):
        resume.window(preset, ck, 900, 4, None)


def test_the_python_api_saves_goes_on_and_writes_a_window(tmp_path):
    import sheetnet

    first = sheetnet.train("cnn", iterations=4, optimizer="adam", batch_size=12)
    path = first.save(tmp_path / "ck.npz")
    on = sheetnet.train(from_checkpoint=path, iterations=3)
    whole = sheetnet.train("cnn", iterations=8, optimizer="adam", batch_size=12)
    assert_same_run(np.concatenate([first.cost, on.cost]), whole.cost)
    assert on.run.start == 5
    out = sheetnet.window(path, tmp_path / "w.xlsx", pick=[3, 1], iterations=1)
    assert sheetnet.verify(out).ok
    with pytest.raises(SheetnetError, match="--filters cannot be given with --from"):
        sheetnet.train(from_checkpoint=path, filters=2)  # (other settings fine-tune it)
    with pytest.raises(SheetnetError, match="exists"):
        first.save(path)


def test_early_stopping_goes_on_across_a_checkpoint(tmp_path):
    """--patience counts from the best iteration before the checkpoint; the cut run's
    checkpoint holds the parameters after the cut iteration's update, trained alone or not."""
    common = ["--net", "mlp", "--validation", "0.2", "--patience", "3", "--optimizer",
              "momentum", "--eta", "0.5"]
    paths = {n: tmp_path / f"{n}.json" for n in ("straight", "first", "then")}
    for args in ([*common, "--iterations", "200", "--json", paths["straight"], "--checkpoint",
                  tmp_path / "cut.npz"],
                 [*common, "--iterations", "6", "--json", paths["first"], "--checkpoint",
                  tmp_path / "six.npz"],
                 ["--from", tmp_path / "six.npz", "--iterations", "200", "--json",
                  paths["then"]]):
        result = runner.invoke(app, ["train", *map(str, args)])
        assert result.exit_code == 0, result.output
    straight, first, then = (json.loads(p.read_text()) for p in paths.values())
    assert len(first["cost"]) + len(then["cost"]) == len(straight["cost"])  # stops alike
    assert_same_run(first["cost"] + then["cost"], straight["cost"])
    assert then["best_iteration"] == straight["best_iteration"] < 6 + len(then["cost"]) - 1
    whole = sheetnet_train_blocks(len(straight["cost"]) - 1)
    cut = checkpoint.load(tmp_path / "cut.npz")
    assert cut.step == len(straight["cost"])
    for name, value in cut.params.items():
        assert_same_run(value, whole.final[name])


def sheetnet_train_blocks(iterations: int):
    """The straight run above, every block kept, to ``iterations``."""
    preset = presets.get("mlp")
    run = preset.run(Options(iterations=iterations, validation=0.2, optimizer="momentum",
                             eta=0.5))
    return preset.trace(run)


def test_a_window_takes_the_runs_next_batches_and_never_a_held_out_image(tmp_path):
    preset, opts, run, trace = _trained("mlp", 3, batch_size=2, shuffle=True, validation=0.25)
    resume.save(preset, opts, run, trace, tmp_path / "ck.npz")
    ck = checkpoint.load(tmp_path / "ck.npz")
    window = resume.window(preset, ck, 1, 8, None)
    on = resume.continued(preset, ck, 3)
    rows = [r for k in range(4) for r in np.flatnonzero(on.batches[k])]  # 4 steps of 2
    np.testing.assert_array_equal(window.data.x, on.data.x[rows])
    held = int(np.flatnonzero(on.held)[0])
    with pytest.raises(SheetnetError, match=f"--pick {held + 1} is an image held out"):
        resume.window(preset, ck, 1, None, f"{rows[0] + 1},{held + 1}")  # numbered from 1
