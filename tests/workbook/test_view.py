"""What a learner sees, for every preset (issue 28): no nonzero number shown as 0, panes that
freeze the labels only, sheets that read top to bottom, colour scales per block and symmetric
where signed, charts fitted to their numbers, print set up, a Statistics sheet for every net."""

import re
import zipfile

import numpy as np
import openpyxl
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter

from sheetnet.workbook import view
from tests.conftest import NETS, SMALL, column_widths, export, formula_cells

DEFAULT_WIDTH = 8.43


def shown(value: float, fmt: str) -> str:
    """``value`` as a spreadsheet shows it under ``fmt``: the formats the view hands out, in
    Python's own formatting (an independent reading of the format codes)."""
    if fmt == "General":
        return repr(value)
    if fmt == "0;-0;0":  # positive; negative; zero
        return "0" if value == 0 else f"{value:.0f}"
    if fmt in ("0.0%",):
        return f"{value * 100:.1f}%"
    if fmt == '[=0]"·";[<0.005]"<.01";0.00':  # a heat map's weights in 0…1
        return "·" if value == 0 else "<.01" if value < 0.005 else f"{value:.2f}"
    found = re.fullmatch(r"0(?:\.(0+))?(E\+00)?", fmt)
    assert found, f"a format the view does not hand out: {fmt!r}"
    decimals = len(found.group(1) or "")
    if found.group(2):
        mantissa, exponent = f"{value:.{decimals}e}".split("e")
        return f"{mantissa}E{int(exponent):+03d}"
    return f"{value:.{decimals}f}"


def _numbers_shown(path):
    """(sheet, cell, stored value, the text it shows, its column's width) of every formula
    cell holding a number."""
    widths = column_widths(path)
    for sheet, ref, _, value, fmt in formula_cells(path):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            col = column_index_from_string(re.match(r"[A-Z]+", ref).group(0))
            yield (sheet, ref, float(value), shown(float(value), fmt),
                   widths[sheet].get(col, DEFAULT_WIDTH), fmt)


def _hidden(text: str) -> bool:
    return text.lstrip("-").replace("0", "").replace(".", "").strip("%") == ""


@pytest.fixture(params=NETS)
def book(request, small_book):
    """(net, its small workbook), exported once a session for every test that reads one."""
    return request.param, small_book(request.param)


def test_no_nonzero_number_is_shown_as_zero_and_every_number_fits_its_column(book):
    net, out = book
    seen = 0
    for sheet, ref, value, text, width, fmt in _numbers_shown(out):
        seen += 1
        if value != 0 and abs(value) >= 1e-99:
            assert not _hidden(text), f"{sheet}!{ref}: {value!r} shows as {text!r} ({fmt})"
        if fmt != "General" and sheet.startswith("Iter"):  # else "###"
            assert len(text) <= max(int(width), 6), f"{sheet}!{ref}: {text!r} in {width}"
    assert seen > 0


def test_zero_one_data_is_shown_as_integers_and_small_gradients_in_digits(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--net", "mlp", "--iterations", "2")
    ws = openpyxl.load_workbook(out)["Iter 0"]
    labels = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    assert ws.cell(labels["x"], 5).number_format == "0"  # a pixel: 0 or 1
    assert ws.cell(labels["t"], 5).number_format == "0"  # one-hot
    assert ws.cell(labels["a²"], 5).number_format != "0"


@pytest.mark.parametrize("values, width, key", [
    ([0.0, 1.0], 8, "int"), ([0.5, 0.25], 8.43, "f4"), ([3e-6, 0.2], 11, "f6"),
    ([123.4, 0.5], 9, "f1"), ([1e-12], 8, "e1"), ([-0.3, 0.002], 8, "f4"),
    ([0.0], 8, "int"), ([929187.0, 0.5], 11, "f1"), ([5e10], 9, "e2"),
    ([1e-5, 2e-5, 3e-5], 9, "e2"), ([0.5, 0.4, 0.3, 1e-9], 9, "e2")])
def test_a_blocks_format_follows_its_typical_largest_and_smallest_numbers(values, width, key):
    assert view.number_format(np.array(values), width) == key


def _frozen_width(ws) -> float:
    pane = ws.freeze_panes
    if not pane:
        return 0.0
    col = column_index_from_string(re.match(r"[A-Z]+", pane).group(0))
    widths = {k: d.width for k, d in ws.column_dimensions.items() if d.width}
    return sum(widths.get(openpyxl.utils.get_column_letter(c), DEFAULT_WIDTH)
               for c in range(1, col))


def _row(ws, column, text):
    return next((c.row for c in ws[column] if c.value == text), None)


def test_panes_freeze_the_labels_only_and_sheets_read_forward_first(book):
    net, out = book
    wb = openpyxl.load_workbook(out)
    for ws in wb:
        assert _frozen_width(ws) <= 45, (ws.title, ws.freeze_panes)
        if ws.title.startswith("Iter") and net not in ("gd", "regression", "graph"):
            # a GAN's sheet reads as its iteration runs: where each player starts, D's step,
            # then G's (each update beside its gradient, at the top)
            titles = (("G's parameters", "D step · G turns the noise z into points G(z) = z³",
                       "G step · G turns fresh noise z into points G(z) = z³") if net == "gan"
                      else ("Forward pass", "Backpropagation", "Parameters · gradients"))
            rows = [_row(ws, "A", t) for t in titles]
            assert None not in rows and rows == sorted(rows), (ws.title, rows)
            assert ws.print_title_cols == "$A:$B"


def _scales(ws):
    for rng in ws.conditional_formatting:
        for rule in rng.rules:
            if rule.colorScale is not None:
                yield str(rng.sqref), [(c.type, float(c.val)) for c in rule.colorScale.cfvo]


def test_colour_scales_are_per_map_and_symmetric_about_zero_where_signed(tmp_path):
    out = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "1")
    ws = openpyxl.load_workbook(out)["Iter 0"]
    scales = list(_scales(ws))
    labels = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    zf = labels["zᶠ"]
    maps = [s for s in scales if int(re.match(r"[A-Z]+(\d+)", s[0]).group(1)) in
            (zf, zf + 5, zf + 10)]
    assert len(maps) == 3  # one scale for each filter's map, across the images
    signed = [ends for _, ends in scales if len(ends) == 3]
    assert signed and all(t == "num" for ends in signed for t, _ in ends)
    assert all(ends[0][1] == -ends[2][1] and ends[1][1] == 0 for ends in signed)


def test_recurrent_sheets_colour_their_blocks(small_book):
    ws = openpyxl.load_workbook(small_book("lstm"))["Iter 0"]
    coloured = {int(re.match(r"[A-Z]+(\d+)", ref).group(1)) for ref, _ in _scales(ws)}
    labels = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    for symbol in ("xₜ", "hₜ", "cₜ"):
        assert labels[symbol] in coloured, symbol
    gates = [r for s, r in labels.items() if s.startswith(("fₜ", "iₜ", "oₜ", "gates"))]
    assert gates and all(r in coloured for r in gates)


def _charts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/")}


def test_charts_fit_their_numbers(tmp_path):
    xor = export(tmp_path, "xor.xlsx", "--net", "xor", "--iterations", "40")
    charts = _charts(xor)
    for xml in charts.values():
        unit = re.findall(r'<c:majorUnit val="([^"]+)"', xml)
        if "<c:scatterChart>" in xml and unit:
            assert float(unit[0]).is_integer()
    assert any('logBase val="10"' in x for x in charts.values())  # 8.3 → 0.2
    few = export(tmp_path, "few.xlsx", "--net", "mlp", "--iterations", "3")
    summary = [x for x in _charts(few).values() if "C_T" in x][0]
    assert 'symbol val="circle"' in summary  # four points: each a marker
    assert 'majorUnit val="1"' in summary


@pytest.mark.parametrize("numbers, log", [([8.3, 0.05], True), ([50, 929187, 40], True),
                                         ([79.7, 45.6], False), ([0.0, 5.0, 600.0], False)])
def test_a_log_scale_where_a_curve_spans_more_than_100_times(numbers, log):
    assert view.needs_log(numbers) is log


@pytest.mark.parametrize("span, step", [(0, 1), (3, 1), (10, 1), (11, 2), (49, 5), (300, 50)])
def test_iteration_ticks_are_whole_numbers(span, step):
    assert view.tick_step(span) == step


def test_narrow_sheets_print_one_page_wide_and_wide_ones_repeat_their_labels(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--net", "mlp", "--iterations", "2")
    wb = openpyxl.load_workbook(out)
    for name in ("Guide", "Summary", "Inputs", "Statistics", "Map"):
        ws = wb[name]
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert wb["Guide"].page_setup.fitToHeight == 1  # one page
    it = wb["Iter 0"]
    assert it.print_title_cols == "$A:$B" and it.print_title_rows == "$1:$2"


@pytest.mark.parametrize("net", [pytest.param("rnn", marks=pytest.mark.slow), "lstm",
                                 "attention"])
def test_every_net_has_a_statistics_sheet(small_book, net):
    wb = openpyxl.load_workbook(small_book(net), read_only=True)
    assert "Statistics" in wb.sheetnames
    header = [v for v in next(wb["Statistics"].iter_rows(min_row=4, max_row=4,
                                                          values_only=True)) if v]
    assert any(str(h).startswith(("hₜ", "h¹", "yₜ")) for h in header), header


SUPERSCRIPT = "ᶠᴾᴼᴸᵏ⁰¹²³⁴⁵⁶⁷⁸⁹"
SUBSCRIPT = "₀₁₂₃₄₅₆₇₈₉ₜ₋ᵢⱼₖ"


def _label_faults(text: str) -> list[str]:
    """The symbols of a label that break the notation's grammar: a symbol is letters, then at
    most one superscript (the layer's letter and at most one digit, or the book's filter k:
    zᶠ¹, w², zᶠᵏᵢⱼ, never zᶠ¹¹ or zᶠ¹ᵏ),
    then at most one run of subscripts (its indices); a product (γ²ẑ², w₁a₁) is several."""
    faults = []
    for token in re.split(r"[\s,:;·()\"'=+−\-×/⊙…→←]+", text):
        # a symbol ends where a letter follows its scripts
        for symbol in re.findall(f"[^{SUPERSCRIPT}{SUBSCRIPT}]+[{SUPERSCRIPT}{SUBSCRIPT}]*",
                                 token):
            scripts = re.sub(f"^[^{SUPERSCRIPT}{SUBSCRIPT}]+", "", symbol)
            base = symbol[:len(symbol) - len(scripts)]
            if scripts and (base[-1].isdigit() or not re.fullmatch(  # the book's zᶠᵏᵢⱼ
                    f"([ᶠᴾᴼᴸ]?[⁰¹²³⁴⁵⁶⁷⁸⁹]?|[ᶠᴾᴼᴸ]ᵏ)[{SUBSCRIPT}]*", scripts)):
                faults.append(symbol)
    return faults


@pytest.mark.parametrize("net, args", [(n, SMALL[n]) for n in ("mlp", "xor", "twolayer")] + [
    pytest.param("cnn", ["--iterations", "1"], marks=pytest.mark.slow),
    pytest.param("cnn", ["--arch", "conv 4 3x3, relu, maxpool 2, conv 3 2x2, relu, dense 3",
                         "--iterations", "1"], marks=pytest.mark.slow, id="two-convs"),
    ("lstm", ["--iterations", "1"]),
    ("attention", ["--iterations", "1", "--layer-norm", "--seq-length", "4"]),
    ("mlp", ["--arch", "dense 4, batchnorm, relu, dropout 0.2, dense 2", "--iterations", "1"])])
def test_every_label_follows_the_notation(tmp_path, net, args):
    """Column A and B of Iter 0 and Inputs, and the Guide's lines: zᶠ¹₁₁ or "zᶠ¹, map 1
    (1, 1)", never zᶠ¹¹₁₁ or "filter 1₁₁"."""
    out = export(tmp_path, "run.xlsx", "--net", net, *args)
    wb = openpyxl.load_workbook(out, read_only=True)
    faults = []
    for name in ("Guide", "Inputs", "Iter 0"):
        for row in wb[name].iter_rows(max_col=2, values_only=True):
            for v in row:
                if isinstance(v, str):
                    text = re.sub(r'^=HYPERLINK\("[^"]*","', "", v)
                    faults += [(name, v[:60], f) for f in _label_faults(text)]
    assert not faults, faults[:10]


@pytest.mark.parametrize("label, faults", [
    ("zᶠ¹¹₁₁", ["zᶠ¹¹₁₁"]), ("filter 1₁₁", ["1₁₁"]), ("δᴾ²¹", ["δᴾ²¹"]), ("zᶠ¹₁₁", []),
    ("z²₁ of image 1", []), ("hₜ₋₁", []), ("γ²ẑ²", []), ("x₁²", ["x₁²"]), ("w²₂,₁₁", []),
    ("zᶠᵏᵢⱼ", []), ("zᶠ¹ᵏᵢⱼ", ["zᶠ¹ᵏᵢⱼ"])])
def test_the_label_grammar_finds_what_it_should(label, faults):
    assert _label_faults(label) == faults


def test_a_text_sheet_shows_the_character_read_and_the_one_predicted(tmp_path):
    """Per step: the character xₜ is, the character the largest aₜ stands for and its
    probability, checked after IronCalc recalculates (the characters from the text itself and
    the recalculated outputs, not from the formulas' own shortcut)."""
    from tests.conftest import recalculated

    text = tmp_path / "t.txt"
    text.write_text("abcab cabbac abc cba " * 3)
    out = export(tmp_path, "t.xlsx", "--net", "rnn", "--text", str(text), "--seq-length", "4",
                 "--hidden", "3", "--iterations", "1")
    values = recalculated(out, tmp_path)
    ws = openpyxl.load_workbook(out)["Iter 0"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    sheet = values["Iter 0"]
    vocab = sorted(set(text.read_text()))
    a0 = rows["aₜ"]
    first = next(c for c in range(1, ws.max_column + 1) if ws.cell(2, c).value == "window 1")
    for w, step in ((0, 0), (0, 3), (2, 1)):
        col = first + w * 5 + step  # window w's band: 4 steps and a blank column
        assert sheet.value(rows["readₜ"], col) == text.read_text()[w * 4 + step]
        outputs = [sheet.value(a0 + j, col) for j in range(len(vocab))]
        best = int(np.argmax(outputs))
        assert sheet.value(rows["nextₜ"], col) == vocab[best]
        assert sheet.value(rows["ŷₜ"], col) == best + 1
        assert sheet.value(rows["p(ŷₜ)"], col) == pytest.approx(max(outputs), rel=1e-12)


def test_every_presets_print_setup_and_charts(book):
    """Every sheet has a footer naming it; narrow sheets print one page wide; an iteration
    sheet repeats its labels and header rows; every line chart's iteration ticks are whole
    numbers."""
    net, out = book
    wb = openpyxl.load_workbook(out)
    for ws in wb:
        assert "&A" in (ws.oddFooter.center.text or ""), ws.title
        if ws.title in ("Guide", "Summary", "Inputs", "Map"):
            assert ws.page_setup.fitToWidth == 1, ws.title
        if ws.title.startswith("Iter") and net not in ("gd", "regression", "graph"):
            assert ws.print_title_cols == "$A:$B" and ws.print_title_rows, ws.title
    for xml in _charts(out).values():
        if "<c:scatterChart>" in xml:
            for unit in re.findall(r'<c:majorUnit val="([^"]+)"', xml):
                assert float(unit).is_integer(), unit


@pytest.mark.parametrize("net", ["mlp", "lstm", "attention"])
def test_one_format_a_block_so_an_edit_never_shows_a_stale_format(tmp_path, net):
    """Every cell of a block has the block's format, on every iteration sheet: a cell whose
    number an edit changes (a pixel set to 1 where the export had 0) keeps a format chosen for
    the whole block, not for its own old number."""
    from sheetnet.audit.verify import layout

    out = export(tmp_path, f"{net}.xlsx", "--net", net, "--iterations", "2",
                 *SMALL[net][2:])
    shown = {(sheet, ref): fmt for sheet, ref, _, _, fmt in formula_cells(out)}
    formats: dict[str, set[str]] = {}
    for p in layout(out).places:
        if p.kind != "formula" or p.iteration is None or p.sheet == "Attention":
            continue  # (the Attention sheet draws α as a heat map: two decimals, a dot for 0)
        found = formats.setdefault(p.name, set())
        for _, _, _, row, col in p.cells():
            found.add(shown[p.sheet, f"{get_column_letter(col)}{row}"])
    mixed = {name: f for name, f in formats.items() if len(f) > 1}
    assert formats and not mixed, mixed
