"""The recurrent net's workbook (issue 20): time runs left to right, backpropagation through
time is in the cells, every engine recalculates it as NumPy computes it, and an edited
character of the text moves the run as the core says it should."""

from dataclasses import replace

import numpy as np
import openpyxl
import pytest

import sheetnet
from sheetnet import presets
from sheetnet.audit.verify import verify
from sheetnet.core.text import Text, TextData
from tests.conftest import edit_cells, export, recalculated_cost

# every recurrent kind in every engine, each with more than itself (test_engines verifies each
# preset's own small workbook in every engine too)
CASES = {
    "rnn-adam-batches": ["--net", "rnn", "--iterations", "3", "--optimizer", "adam", "--eta",
                         "0.05", "--batch-size", "4", "--seq-length", "6", "--hidden", "5"],
    "lstm-momentum-batches": ["--net", "lstm", "--iterations", "2", "--optimizer", "momentum",
                              "--batch-size", "3", "--seq-length", "5", "--hidden", "3"],
    # issue 27: recurrent layers of --arch, stacked, with dropout between steps' layers
    "two-lstms": ["--net", "lstm", "--arch", "lstm 5, lstm 4", "--iterations", "2",
                  "--seq-length", "6"],
    "rnn-dropout": ["--net", "rnn", "--arch", "rnn 6, dropout 0.2", "--iterations", "2"],
    # issue 31: the GRU, alone and under an LSTM, with Adam on batches of windows
    "gru-lstm-adam": ["--net", "gru", "--arch", "gru 3, lstm 3", "--iterations", "2",
                      "--optimizer", "adam", "--batch-size", "4", "--seq-length", "4"],
    # issue 31: the one-block transformer, with and without its layer norms
    "attention": ["--net", "attention", "--iterations", "2", "--embed", "4", "--mlp", "6",
                  "--seq-length", "6"],
    "attention-ln-adam-batches": ["--net", "attention", "--layer-norm", "--iterations", "2",
                                  "--optimizer", "adam", "--eta", "0.01", "--batch-size", "4",
                                  "--seq-length", "5", "--embed", "4", "--mlp", "5"],
}
# the newest nets, smaller for the edited character (the older ones at their defaults)
SMALLER: dict[str, dict[str, int]] = {"gru": {"hidden": 3, "seq_length": 4},
                                      "attention": {"embed": 4, "mlp": 4, "seq_length": 4}}
ATTENTION_BLOCKS = {"e", "q", "k", "v", "s", "att", "ctx", "y", "zm", "m", "out", "dctx", "datt",
                    "abar", "ds", "dq", "dk", "dv", "dqkv", "dm", "dzm", "dmlp", "dC_de",
                    "dC_dy", "dC_dWq", "dC_dE", "dC_dPos", "dC_dW1", "dC_db2"}


@pytest.mark.parametrize("case", list(CASES))
def test_the_rnn_agrees_in_every_engine(all_engines, tmp_path, case):
    out = export(tmp_path, f"{case}.xlsx", *CASES[case])
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()
    if case.startswith("attention"):
        ln = {"ln1", "ln1_dx", "ln2_gbar", "dC_dln1_g", "dC_dln2_b"} if "-ln" in case else set()
        assert ATTENTION_BLOCKS | ln <= set(report.blocks)
        return
    tag = "1" if case in ("two-lstms", "gru-lstm-adam") else ""
    want = ({"zx", "zh", "gates", "dzx", "dzh", "dC_dU", "dC_dbU"} if "gru" in case
            else {"dc", "dz", "dcprev", "gates", "dC_dU"} if "lstm" in case
            else {"delta", "dC_dWhh"})
    assert {f"{name}{tag}" for name in want | {"dh", "dhprev", "dh_norm_mean"}} <= set(
        report.blocks)


@pytest.mark.slow
@pytest.mark.parametrize("net", ["rnn", "lstm", "gru", "attention"])
def test_an_edited_character_recomputes(tmp_path, net):
    small = SMALLER.get(net, {})
    out = export(tmp_path, f"{net}.xlsx", "--net", net, "--iterations", "1",
                 *(part for k, v in small.items() for part in (f"--{k.replace('_', '-')}",
                                                               str(v))))
    run = sheetnet.train(net, iterations=1, **small).run
    text = run.data.text
    chars = list(text.used)
    where = chars.index("w")  # "twinkle" becomes "tkinkle"
    chars[where] = "k"
    edit_cells(out, tmp_path / "edited.xlsx", {("Data", f"B{3 + where}"): "k"})
    edited = TextData.of(Text("".join(chars), text.steps, text.vocab))
    want = presets.get(net).trace(replace(run, data=edited), keep=["C_T"])
    got = recalculated_cost(tmp_path / "edited.xlsx", tmp_path)
    np.testing.assert_allclose(got, want.cost, rtol=1e-12)
    report = verify(tmp_path / "edited.xlsx")
    assert report.ok and "labels" in report.changed


def test_a_character_outside_the_vocabulary_is_one_line(tmp_path):
    out = export(tmp_path, "rnn.xlsx", "--net", "rnn", "--iterations", "1")
    wb = openpyxl.load_workbook(out)
    wb["Data"].cell(3, 2).value = "Z"
    wb.save(tmp_path / "edited.xlsx")
    with pytest.raises(sheetnet.SheetnetError, match="not one character of the vocabulary"):
        verify(tmp_path / "edited.xlsx")


@pytest.mark.parametrize("text, what", [
    ("ab=cd=ef ab=cd=ef ab=cd=ef ab=cd=efQWXYZ", "an = and a tail of characters no window reads"),
    ("ab cd\r\nef ab\r\ncd ef\rab cd ef ab cd ef", "CR+LF and a lone CR"),
    ("ab\tcd ef ab\tcd ef ab\tcd ef ab\tcd ef", "tabs"),
])
def test_any_text_that_exports_verifies(tmp_path, text, what):
    """Issue 26: texts that exported but did not verify. A character is a character (never a
    formula), line ends are read as LF (what a workbook's XML reads back), and the vocabulary
    may hold characters no window reads (a tail's)."""
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode())
    out = export(tmp_path, "t.xlsx", "--net", "rnn", "--text", str(path), "--seq-length", "5",
                 "--hidden", "3", "--iterations", "1")
    report = verify(out)
    assert report.ok, (what, report.first_differences())
    used = sheetnet.train("rnn", text=path, seq_length=5, hidden=3, iterations=1).run.data.text
    assert "\r" not in used.text and set(used.vocab) == set(used.text)


def test_a_text_too_large_says_its_size_in_units_a_person_reads(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("ab" * 15_000)
    with pytest.raises(sheetnet.SheetnetError, match=r"is 29.3 KB; sheetnet reads at most"
                                                     r" 19.5 KB"):
        sheetnet.train("rnn", text=path)


def test_odd_texts_verify_in_every_engine(tmp_path, all_engines):
    path = tmp_path / "t.txt"
    path.write_bytes(b"ab=c\r\nd=e\r\nab=c\td=e ab=c d=e \"q\" <&> zzzzqwertyuiop")
    out = export(tmp_path, "t.xlsx", "--net", "lstm", "--text", str(path), "--seq-length", "5",
                 "--hidden", "2", "--iterations", "1")
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()


def test_a_workbook_of_the_earlier_recurrent_layout_is_refused_in_one_line():
    """Before issue 27 a text net had a layout of its own; its settings name no stack."""
    earlier = {"workbook": "sheetnet workbook 4", "net": "rnn", "iterations": 2,
               "seq length": 10, "hidden": 8, "characters": 111, "vocabulary": 24}
    with pytest.raises(sheetnet.SheetnetError, match="earlier sheetnet.*export it again"):
        presets.get("rnn").skeleton(earlier)


def test_only_the_scores_rows_are_named_by_characters(tmp_path):
    """The default GRU's gates have 3·8 = 24 rows, as many as the text has characters: they
    are still named by gate and unit; oₜ, aₜ and ∂C/∂oₜ by character."""
    out = export(tmp_path, "gru.xlsx", "--net", "gru", "--iterations", "1", "--seq-length", "3")
    sheet = openpyxl.load_workbook(out, read_only=True)["Iter 1"]
    rows = list(sheet.iter_rows(max_col=2, values_only=True))
    starts = {symbol: i for i, (symbol, _) in enumerate(rows) if symbol}
    vocab = sheetnet.train("gru", iterations=1, seq_length=3).run.data.text.vocab
    assert len(vocab) == 24
    for block in ("zˣₜ (r z n)", "gatesₜ (r z n)", "∂C/∂zʰₜ"):
        labels = [label for _, label in rows[starts[block]:starts[block] + 24]]
        assert labels[0] == "r, unit 1" and labels[23] == "n, unit 8", (block, labels)
    for block in ("oₜ", "aₜ", "∂C/∂oₜ"):
        labels = [label for _, label in rows[starts[block]:starts[block] + 24]]
        assert labels == [f"'{'␣' if c == ' ' else c}'" for c in vocab], block
    assert rows[starts["readₜ"]][1] == "character xₜ"
