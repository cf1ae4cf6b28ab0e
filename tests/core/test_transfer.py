"""Transfer learning (issue 32): --freeze N keeps the first N weighted layers as they start, and
``train --from CK`` with other data or settings fine-tunes: a new run from the checkpoint's
parameters, the optimizer's state fresh, --new-head drawing a new output layer."""

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

import sheetnet
from sheetnet import notation as names
from sheetnet import presets
from sheetnet.audit.verify import verify
from sheetnet.cli import app
from sheetnet.core import checkpoint, descent
from sheetnet.core import net as net_mod
from sheetnet.errors import SheetnetError
from sheetnet.pairs.optim import rule as rule_of
from tests.conftest import assert_same_run, edit_cells, refused

runner = CliRunner()


def test_a_frozen_first_layer_trains_the_head_alone_on_fixed_features():
    """The book's net with W², b² frozen is a one-layer net trained on a² as its inputs: the
    same costs and head, and W², b² never move."""
    result = sheetnet.train("mlp", freeze=1, iterations=25, optimizer="adam", eta=0.05)
    run, trace = result.run, result.trace
    assert run.frozen == ("W2", "b2")
    w2, b2 = run.params["W2"], run.params["b2"]
    features = 1 / (1 + np.exp(-(run.data.x @ w2.T + b2)))
    head = net_mod.fully_connected((3, 2))
    alone = descent.train_net(head, {"W2": run.params["W3"], "b2": run.params["b3"]}, features,
                              run.data.targets, 0.05, 25, rule=rule_of("adam"),
                              hyper=run.hyper)
    assert_same_run(trace.cost, alone.cost)
    for k in (1, 12, 25):
        assert_same_run(trace.iterations[k]["W3"], alone.iterations[k]["W2"])
        assert_same_run(trace.iterations[k]["b3"], alone.iterations[k]["b2"])
        np.testing.assert_allclose(trace.iterations[k]["W2"], w2, rtol=0, atol=1e-15)
        np.testing.assert_allclose(trace.iterations[k]["b2"], b2, rtol=0, atol=1e-15)
        assert names.state("m", "W2") not in trace.iterations[k]  # no state for it
        assert np.abs(trace.iterations[k]["dCT_dW2"]).max() > 0  # its gradient is computed


def test_freeze_follows_torch_with_requires_grad_off():
    torch = pytest.importorskip("torch")
    result = sheetnet.train("mlp", layers="12,4,3,2", freeze=2, iterations=20,
                            optimizer="adam", eta=0.05)
    run = result.run
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in ("W4", "b4"))
         for k, v in run.params.items()}
    opt = torch.optim.Adam([p["W4"], p["b4"]], lr=0.05)
    x, t = torch.tensor(run.data.x), torch.tensor(run.data.targets)
    costs = []
    for _ in range(21):
        a2 = torch.sigmoid(x @ p["W2"].T + p["b2"])
        a3 = torch.sigmoid(a2 @ p["W3"].T + p["b3"])
        a4 = torch.sigmoid(a3 @ p["W4"].T + p["b4"])
        cost = 0.5 * ((a4 - t) ** 2).sum()
        opt.zero_grad()
        cost.backward()
        opt.step()
        costs.append(cost.item())
    np.testing.assert_allclose(result.cost, costs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.trace.final["W4"], p["W4"].detach().numpy(), atol=1e-9)


@pytest.mark.parametrize("arch, freeze, frozen", [
    ("dense 4, relu, dense 2", 1, ("W2", "b2")),
    ("dense 4, batchnorm, relu, dense 3, dense 2", 1, ("W2",)),  # batch norm comes after
    ("dense 4, batchnorm, relu, dense 3, dense 2", 2, ("W2", "bn_gamma2", "bn_beta2", "W3",
                                                       "b3")),
    ("conv 2 3x3, relu, maxpool 2, dense 3", 1, ("F", "bF")),
])
def test_freeze_n_keeps_the_first_n_weighted_layers_and_what_comes_before(arch, freeze,
                                                                          frozen):
    run = sheetnet.train("mlp" if "conv" not in arch else "cnn", arch=arch, iterations=1,
                         freeze=freeze).run
    assert run.frozen == frozen


def test_a_frozen_workbook_holds_its_layers_and_verify_catches_one_that_moves(tmp_path):
    result = sheetnet.train("cnn", freeze=1, iterations=3, optimizer="adam", eta=0.01,
                            batch_size=8)
    out = sheetnet.export(result, tmp_path / "f.xlsx")
    report = verify(out)
    assert report.ok, report.first_differences()
    places = {(p.name, p.iteration): p for p in presets.get("cnn").workbook(result.run).places}
    assert ("m_F", 1) not in places and ("m_WO", 1) in places  # no state for a frozen one
    assert "frozen" in places["F", 2].description
    f = places["F", 2]
    edited = edit_cells(out, tmp_path / "moved.xlsx",
                        {(f.sheet, f.ref(0, 0).replace("$", "")): 0.123})
    moved = verify(edited)
    cell = f.ref(0, 0).replace("$", "")
    assert not moved.ok and len(moved.roots) == 1 and cell in moved.roots[0], moved.roots


def _pretrained(tmp_path, **options):
    first = sheetnet.train("digits", classes="0,1,2,3,4", iterations=15, optimizer="adam",
                           eta=0.01, **options)
    return first, first.save(tmp_path / "pre.npz")


def test_fine_tuning_is_a_new_run_that_starts_from_the_checkpoints_parameters(tmp_path):
    first, path = _pretrained(tmp_path)
    ck = checkpoint.load(path)
    tuned = sheetnet.train(from_checkpoint=path, classes="5,6,7,8,9", per_class=6, freeze=1,
                           iterations=12)
    run = tuned.run
    assert run.start == 0 and run.state is None and run.frozen == ("F", "bF")
    assert sorted(set(run.data.labels)) == [5.0, 6.0, 7.0, 8.0, 9.0]
    # the same as a new run of the new task whose initial parameters are the checkpoint's:
    # Adam's moments and its bias correction start afresh
    preset = presets.get("digits")
    given = {k: v.tolist() for k, v in ck.params.items()}
    again = preset.trace(preset.run(replace(tuned.options, init=given), detail=True))
    assert_same_run(tuned.cost, again.cost)
    for name in ("F", "bF"):  # frozen: the checkpoint's, all along
        for blocks in tuned.trace.iterations:
            np.testing.assert_allclose(blocks[name], ck.params[name], rtol=0, atol=1e-15)
    assert np.abs(tuned.trace.final["WO"] - ck.params["WO"]).max() > 1e-3  # the head learns
    record = tuned.record()
    assert record["frozen"] == ["F", "bF"] and record["options"]["freeze"] == 1
    assert run.origin["init"].endswith("(16 updates, adam), fine-tuned; F, bF frozen")
    assert "output layer is kept: its units learnt the classes 0,1,2,3,4, and now stand for" \
        " the classes 5,6,7,8,9 in that order; give --new-head" in run.origin["note"]


def test_a_new_head_is_drawn_as_a_new_run_draws_it_and_fits_the_new_classes(tmp_path):
    _, path = _pretrained(tmp_path)
    ck = checkpoint.load(path)
    tuned = sheetnet.train(from_checkpoint=path, classes="7,8,9", freeze=1, new_head=True,
                           iterations=3)
    scratch = sheetnet.train("digits", classes="7,8,9", optimizer="adam", eta=0.01,
                             iterations=3)
    assert tuned.run.model.outputs == 3
    for name in ("WO", "bO"):
        assert_same_run(tuned.run.params[name], scratch.run.params[name])
    assert_same_run(tuned.run.params["F"], ck.params["F"])
    with pytest.raises(SheetnetError, match=r"the checkpoint's WO is 5×\d+, but the net for"
                                            r" this data needs 3×\d+; give --new-head"):
        sheetnet.train(from_checkpoint=path, classes="7,8,9", iterations=3)


def test_a_fine_tuned_run_goes_on_from_its_own_checkpoint_and_opens_as_a_window(tmp_path):
    _, path = _pretrained(tmp_path)
    common = dict(classes="5,6,7,8,9", per_class=6, freeze=1, new_head=True)
    part = sheetnet.train(from_checkpoint=path, iterations=5, **common)
    mid = part.save(tmp_path / "ft.npz")
    assert "state:m:F" not in np.load(mid).files  # a frozen parameter has no rule state
    on = sheetnet.train(from_checkpoint=mid, iterations=4)
    whole = sheetnet.train(from_checkpoint=path, iterations=10, **common)
    assert on.run.frozen == ("F", "bF") and on.run.start == 6
    assert_same_run(np.concatenate([part.cost, on.cost]), whole.cost)
    out = sheetnet.window(mid, tmp_path / "w.xlsx", images=6, iterations=2)
    report = verify(out)
    assert report.ok, report.first_differences()


def test_fine_tuning_on_the_command_line(tmp_path):
    pre, tuned = tmp_path / "pre.npz", tmp_path / "t.json"
    assert runner.invoke(app, ["train", "--net", "digits", "--labels", "0,1,2,3,4",
                               "--iterations", "5", "--checkpoint", str(pre)]).exit_code == 0
    result = runner.invoke(app, ["train", "--from", str(pre), "--labels", "5,6,7,8,9",
                                 "--per-class", "4", "--freeze", "1", "--new-head",
                                 "--iterations", "3", "--json", str(tuned)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"fine-tuning {pre}: --net digits after iteration 5 (6"
                                    " updates, gd); F, bF frozen; a new head")
    assert "note:" not in result.output  # a new head: nothing kept to warn of
    assert "F, bF frozen; a new head WO, bO (--init-scheme normal, --seed 0); gd's state starts" \
        " afresh\non digits (built in: " in result.output
    record = json.loads(tuned.read_text())
    assert record["frozen"] == ["F", "bF"] and len(record["cost"]) == 4
    assert "first_iteration" not in record
    fresh = runner.invoke(app, ["train", "--net", "digits", "--freeze", "1", "--iterations", "1"])
    assert fresh.output.startswith("F, bF frozen (--freeze): their gradients are computed, not"
                                   " applied\n"), fresh.output
    refused(["train", "--from", pre, "--layers", "64,5"], "--layers cannot be given with"
            " --from: a fine-tuned run keeps the checkpoint's net", tmp_path)
    refused(["train", "--net", "digits", "--new-head"], "--new-head goes with --from",
            tmp_path)
    refused(["train", "--net", "digits", "--freeze", "2"], "--freeze 2: conv 4 3x3, sigmoid,"
            " maxpool 2, dense 10 has 2 weighted layers, and at least the last must train;"
            " give --freeze 0 to 1", tmp_path)
    refused(["export", "--from", pre, "--freeze", "1", "--out", tmp_path / "w.xlsx"],
            "--freeze cannot be given with --from here", tmp_path)
