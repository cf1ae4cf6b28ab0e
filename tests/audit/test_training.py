"""Update rules, mini-batches, penalties and a decaying η, recalculated in real engines."""

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from sheetnet import presets
from sheetnet.audit.verify import verify
from sheetnet.cli import app
from sheetnet.pairs.optim import RULES
from tests.conftest import export, recalculated, recalculated_cost

runner = CliRunner()


def _by_hand(rule, h, g0, g1):
    """Each rule's state after step 1 from its definition (torch.optim's), given the gradients
    of steps 0 and 1."""
    b1, b2, mu, rho = (h.get(k) for k in ("beta1", "beta2", "momentum", "rho"))
    return {
        "momentum": lambda: {"v": mu * g0 + g1},
        "nesterov": lambda: {"v": mu * g0 + g1},
        "adagrad": lambda: {"s": g0**2 + g1**2},
        "rmsprop": lambda: {"s": rho * (1 - rho) * g0**2 + (1 - rho) * g1**2},
        "adam": lambda: _adam(b1, b2, g0, g1),
        "adamw": lambda: _adam(b1, b2, g0, g1),
    }[rule]()


def _adam(b1, b2, g0, g1):
    m, v = b1 * (1 - b1) * g0 + (1 - b1) * g1, b2 * (1 - b2) * g0**2 + (1 - b2) * g1**2
    return {"m": m, "v": v, "m_hat": m / (1 - b1**2), "v_hat": v / (1 - b2**2)}


@pytest.mark.parametrize("net", ["mlp", pytest.param("cnn", marks=pytest.mark.slow)])
@pytest.mark.parametrize("rule", [r for r in RULES if r != "gd"])
def test_every_rule_trains_every_net_in_the_cells(tmp_path, net, rule):
    """The engine's state cells after step 1 are the rule's definition of the engine's own
    gradient cells of steps 0 and 1; and verify agrees with every cell."""
    from sheetnet.audit.verify import _numbers

    out = export(tmp_path, f"{net}.xlsx", "--net", net, "--iterations", "2", "--optimizer", rule)
    report = verify(out)
    assert report.ok, report.first_differences()
    preset = presets.get(net)
    run = preset.run(presets.Options(iterations=2, optimizer=rule))
    at = {(p.name, p.iteration): p for p in preset.workbook(run).places}
    values = recalculated(out, tmp_path)

    def cells(name, k):
        place = at[name, k]
        return _numbers(values[place.sheet], place).ravel()

    first = "W2" if net == "mlp" else "F"
    g0, g1 = cells(f"dCT_d{first}", 0), cells(f"dCT_d{first}", 1)
    for kind, want in _by_hand(rule, run.hyperparameters, g0, g1).items():
        np.testing.assert_allclose(cells(f"{kind}_{first}", 1), want, rtol=1e-12, atol=1e-15,
                                   err_msg=kind)


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_batches_penalties_and_a_decaying_eta_agree_in_every_engine(all_engines, tmp_path,
                                                                     net):
    out = export(tmp_path, f"{net}.xlsx", "--net", net, "--iterations", "3", "--optimizer",
                 "adam", "--eta", "0.05", "--batch-size", "20", "--l1", "0.001", "--l2", "0.01",
                 "--eta-decay", "0.9")
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()
    assert {"C_batch", "eta_k", "m_hat_WO" if net == "cnn" else "m_hat_W2"} <= set(report.blocks)
    images = 96 if net == "cnn" else 64
    assert report.inputs_read > 4 * images  # every step's batch marks were read back


def test_gd_compares_rules_on_their_own_sheets_and_verifies(all_engines, tmp_path):
    out = export(tmp_path, "gd.xlsx", "--net", "gd", "--function", "elongated", "--compare",
                 "gd,momentum,rmsprop,adam")
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames[:6] == ["Guide", "Compare", "gd", "momentum", "rmsprop", "adam"]
    wb.close()
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()
    assert report.blocks["adam.v_hat_x (adam)"].cells == 31
    assert report.blocks["momentum.z (Compare)"].cells == 31


def _set_name(wb, name, value):
    sheet, cell = wb.defined_names[name].attr_text.split("!")
    wb[sheet.strip("'")][cell.replace("$", "")] = value


@pytest.mark.parametrize("args, edits", [
    (["--optimizer", "momentum"], {"momentum": 0.5, "eta": 0.1}),
    (["--optimizer", "rmsprop"], {"rho": 0.9, "epsilon": 1e-3}),
    (["--optimizer", "adam", "--l1", "0.01", "--l2", "0.02", "--eta-decay", "0.9"],
     {"beta1": 0.8, "beta2": 0.99, "lambda_l1": 0.05, "lambda_l2": 0.1, "eta_decay": 0.5}),
    (["--optimizer", "adamw", "--weight-decay", "0.1"], {"weight_decay": 0.5}),
])
@pytest.mark.slow
def test_editing_a_named_hyperparameter_recomputes_the_run(tmp_path, args, edits):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "3", *args)
    before = recalculated_cost(out, tmp_path)
    for name, value in edits.items():
        wb = openpyxl.load_workbook(out)
        _set_name(wb, name, value)
        edited = tmp_path / f"{name}.xlsx"
        wb.save(edited)
        report = verify(edited)
        assert report.ok, (name, report.first_differences())
        after = recalculated_cost(edited, tmp_path)
        assert np.abs(after - before).max() > 1e-9, name
        # NumPy, given the same edit, computes the same costs
        preset = presets.get("mlp")
        opts = presets.Options(iterations=3, optimizer=args[1], **_options(args, name, value))
        run = preset.run(opts)
        np.testing.assert_allclose(after, preset.trace(run).cost, rtol=1e-12, err_msg=name)


def _options(args, name, value):
    """The options of ``args`` with hyperparameter ``name`` set to ``value``."""
    flags = dict(zip(args[2::2], args[3::2], strict=True))
    opts = {"l1": flags.get("--l1"), "l2": flags.get("--l2"), "eta_decay": flags.get("--eta-decay")}
    opts = {k: float(v) for k, v in opts.items() if v is not None}
    key = {"lambda_l1": "l1", "lambda_l2": "l2"}.get(name, name)
    if key in ("eta", "l1", "l2", "eta_decay"):
        opts[key] = value
        return opts
    return {**opts, "hyper": {name: value}}


def test_an_edited_batch_mark_moves_the_run(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "2", "--batch-size", "8", "--no-shuffle")
    wb = openpyxl.load_workbook(out)
    ws = wb["Iter 0"]
    row, col = next((r, c + 1) for r in range(1, 6) for c in range(1, 12)
                    if ws.cell(r, c).value == "in batch →")  # the marks start right of it
    assert [ws.cell(row, col + i).value for i in range(10)] == [1] * 8 + [0] * 2
    ws.cell(row, col + 9).value = 1  # image 10 joins the first batch
    wb.save(tmp_path / "edited.xlsx")
    report = verify(tmp_path / "edited.xlsx")
    assert report.ok, report.first_differences()
    assert abs(recalculated_cost(tmp_path / "edited.xlsx", tmp_path)[1]
               - recalculated_cost(out, tmp_path)[1]) > 1e-9


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "momentum", "--momentum", "1"], "--momentum 1 must be in [0, 1)"),
    (["--optimizer", "adam", "--beta1", "-0.1"], "--beta1 -0.1 must be in [0, 1)"),
    (["--optimizer", "adam", "--beta2", "1"], "--beta2 1 must be in [0, 1)"),
    (["--optimizer", "rmsprop", "--epsilon", "0"], "--epsilon 0 must be a positive number"),
    (["--optimizer", "rmsprop", "--rho", "1.5"], "--rho 1.5 must be in [0, 1)"),
    (["--batch-size", "0"], "--batch-size"),
    (["--batch-size", "65"], "--batch-size 65 must be 1 to 64"),
    (["--l1", "-1"], "--l1 -1 must be 0 or more"),
    (["--l2", "-0.5"], "--l2 -0.5 must be 0 or more"),
    (["--eta-decay", "0"], "--eta-decay 0 must be in (0, 1]"),
    (["--eta-decay", "1.5"], "--eta-decay 1.5 must be in (0, 1]"),
    (["--momentum", "0.5"], "--momentum is not used by --optimizer gd"),
    (["--optimizer", "adam", "--momentum", "0.5"], "--momentum is not used by --optimizer adam"),
    (["--optimizer", "lion"], "--optimizer 'lion' is not one of"),
    (["--optimizer", "adamw", "--weight-decay", "-1"], "--weight-decay -1 must be 0 or more"),
    (["--optimizer", "adam", "--weight-decay", "0.1"],
     "--weight-decay is not used by --optimizer adam"),
    (["--shuffle"], "--shuffle and --no-shuffle go with --batch-size"),
])
def test_bad_training_options_are_one_line_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "a.xlsx"
    result = runner.invoke(app, ["export", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and not out.exists()
