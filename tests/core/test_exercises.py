"""Exercises without images: gradient descent (book 2-11)."""

import numpy as np
import pytest
from typer.testing import CliRunner

from sheetnet import presets
from sheetnet.cli import app
from sheetnet.core import gd
from sheetnet.pairs import functions

runner = CliRunner()


def test_books_bowl_goes_13_832_53248():
    trace = gd.walk(functions.BOWL, np.array([3.0, 2.0]), 0.1, 30)
    np.testing.assert_allclose(trace.cost[:3], [13.0, 8.32, 5.3248], rtol=1e-15)
    # each step multiplies x and y by 0.8
    np.testing.assert_allclose(trace.series("x"), 3 * 0.8 ** np.arange(31), rtol=1e-12)
    assert trace.iterations[0]["dx"] == pytest.approx(-0.6)


@pytest.mark.parametrize("f", list(functions.FUNCTIONS.values()), ids=list(functions.FUNCTIONS))
def test_each_gradient_matches_central_differences(f):
    h = 1e-6
    for x, y in ((3.0, 2.0), (-1.2, 1.0), (0.5, -0.7)):
        gx, gy = f.gradient(x, y)
        nx = (f.value(x + h, y) - f.value(x - h, y)) / (2 * h)
        ny = (f.value(x, y + h) - f.value(x, y - h)) / (2 * h)
        np.testing.assert_allclose([gx, gy], [nx, ny], rtol=1e-7, atol=1e-6)


def test_divergence_is_refused():
    with pytest.raises(Exception, match="overflows"):
        gd.walk(functions.ROSENBROCK, np.array([-1.2, 1.0]), 0.1, 50)


@pytest.mark.parametrize("args, message", [
    (["--function", "banana"], "'banana' is not one of: bowl, elongated, rosenbrock"),
    (["--start", "3"], "--start '3' is not X,Y"),
    (["--start", "a,b"], "is not X,Y"),
    (["--start", "inf,1"], "needs finite numbers"),
    (["--steps", "0"], "must be at least 1"),
    (["--steps", "3", "--iterations", "3"], "give --steps or --iterations, not both"),
    (["--data", "x.csv"], "--data is not used by this net"),
    (["--function", "rosenbrock", "--eta", "0.1"], "overflows"),
])
def test_bad_gd_input(tmp_path, args, message):
    out = tmp_path / "gd.xlsx"
    result = runner.invoke(app, ["export", "--net", "gd", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_gd_preset_defaults_follow_the_book():
    preset = presets.get("gd")
    run = preset.run(presets.Options())
    assert (run.eta, run.iterations, list(run.params["start"])) == (0.1, 30, [3.0, 2.0])
    result = runner.invoke(app, ["show", "--net", "gd", "--steps", "2"])
    assert result.exit_code == 0 and "5.3248" in result.output


def test_regression_closed_form_matches_polyfit_and_descent_reaches_it():
    preset = presets.get("regression")
    run = preset.run(presets.Options())
    trace = preset.trace(run)
    x, y = run.data.x[:, 0], run.data.targets[:, 0]
    p, q = np.polyfit(x, y, 1)
    first, last = trace.iterations[0], trace.iterations[-1]
    np.testing.assert_allclose([first["p_star"], first["q_star"]], [p, q], rtol=1e-12)
    np.testing.assert_allclose([last["p"], last["q"]], [p, q], rtol=1e-9)
    assert last["C"] == pytest.approx(float(first["C_star"]), rel=1e-12)
    # the descent's gradient against central differences in (a, b)
    u = first["u"]
    h = 1e-6
    for a, b in ((0.3, 40.0), (2.0, 52.0)):
        from sheetnet.core import regression as reg
        ga, gb = -reg.residual_sum(a, b, u, y, u), -reg.residual_sum(a, b, u, y)
        na = (reg.half_sse(a + h, b, u, y) - reg.half_sse(a - h, b, u, y)) / (2 * h)
        nb = (reg.half_sse(a, b + h, u, y) - reg.half_sse(a, b - h, u, y)) / (2 * h)
        np.testing.assert_allclose([ga, gb], [na, nb], rtol=1e-6)


@pytest.mark.parametrize("text, message", [
    ("x,y\n1,2\n", "a line needs at least two points, this has 1"),
    ("x,y\n3,2\n3,5\n3,1\n", "every x is 3; a line needs at least two different x values"),
    ("a,b\n1,2\n2,3\n", "the header must be `x,y`"),
    ("x,y\n1,2\n2,z\n", "line 3 is not two numbers x,y"),
])
def test_bad_regression_data(tmp_path, text, message):
    csv = tmp_path / "pts.csv"
    csv.write_text(text)
    out = tmp_path / "r.xlsx"
    result = runner.invoke(app, ["export", "--net", "regression", "--data", str(csv), "--out",
                                 str(out)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_shopping_graph_forward_and_backward():
    from sheetnet.core import graph

    trace = graph.evaluate(graph.SHOPPING, graph.DEFAULTS)
    b = trace.iterations[0]
    names = [n.name for n in graph.SHOPPING]
    value = dict(zip(names, b["value"], strict=True))
    grad = dict(zip(names, b["grad"], strict=True))
    assert (value["coats"], value["trousers"], value["subtotal"]) == (400, 600, 1000)
    assert value["total"] == pytest.approx(700)
    # ∂total/∂input by hand: 0.7 per unit of price, price × 0.7 per item, 1000 per unit discount
    expected = {"coat_price": 0.7, "coat_count": 280, "trousers_price": 1.4,
                "trousers_count": 210, "discount": 1000}
    for name, g in expected.items():
        assert grad[name] == pytest.approx(g)
        # and against central differences of the forward pass
        h = 1e-4
        up, down = dict(graph.DEFAULTS), dict(graph.DEFAULTS)
        up[name] += h
        down[name] -= h
        total = [graph.evaluate(graph.SHOPPING, v).cost[0] for v in (up, down)]
        assert (total[0] - total[1]) / (2 * h) == pytest.approx(g, rel=1e-8)


def test_header_text_starting_with_equals_stays_text(tmp_path):
    import openpyxl

    from sheetnet.workbook import layout, xlsx

    spec = layout.WorkbookSpec([layout.SheetSpec("S", lambda: {1: {1: layout.Styled(
        "= expression", "header")}})], [], {})
    xlsx.write(spec, tmp_path / "t.xlsx")
    assert openpyxl.load_workbook(tmp_path / "t.xlsx")["S"]["A1"].data_type == "s"


@pytest.mark.parametrize("name, below", [("elongated", 1e-3), ("rosenbrock", 0.1)])
def test_each_functions_defaults_make_descent_settle(name, below):
    preset = presets.get("gd")
    run = preset.run(presets.Options(function=name))
    trace = preset.trace(run, keep=())
    assert trace.cost[-1] < below < trace.cost[0]
