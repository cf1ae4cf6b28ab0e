"""Memory and time are estimated before any work (issue 26): a run that keeps every block is
budgeted in bytes, the API's paths included; a step is counted at what it really computes."""

import resource

import pytest
from typer.testing import CliRunner

import sheetnet
from sheetnet import presets
from sheetnet.core import budget
from sheetnet.core import net as net_mod
from sheetnet.errors import SheetnetError
from sheetnet.presets.options import Options
from tests.conftest import no_work, refused

runner = CliRunner()


@pytest.mark.parametrize("args, message", [
    (["show", "--iterations", "800000"], "keeps every block of every iteration"),
    (["train", "--net", "cnn", "--iterations", "100000", "--blocks", "--json", "r.json"],
     "keeps every block of every iteration"),
    (["train", "--net", "mnist", "--batch-size", "8000"], "would compute"),
    (["train", "--net", "mnist", "--every", "1"], "would compute"),
])
def test_runs_beyond_memory_or_time_are_refused_before_any_work(tmp_path, monkeypatch, args,
                                                                message):
    monkeypatch.chdir(tmp_path)
    refused(args, message, tmp_path)


@pytest.mark.parametrize("call, message", [
    (lambda: sheetnet.train("mlp", iterations=800_000), "keeps every block"),
    (lambda: sheetnet.train("gd", iterations=20_000_000), "keeps every block"),
    (lambda: sheetnet.train("rnn", iterations=100_000), "keeps every block"),
    (lambda: sheetnet.train("mnist", iterations=2), "keeping every digit's blocks"),
])
def test_the_api_keeping_every_block_is_budgeted_in_bytes(call, message):
    with no_work(), pytest.raises(SheetnetError, match=message):
        call()


@pytest.mark.slow
def test_the_api_going_on_from_a_large_checkpoint_is_checked_like_a_new_run(tmp_path):
    ck = tmp_path / "ck.npz"
    result = runner.invoke(app_(), ["train", "--net", "mnist", "--iterations", "2", "--every",
                                    "2", "--checkpoint", str(ck)])
    assert result.exit_code == 0, result.output
    with no_work(), pytest.raises(SheetnetError, match="keeping every digit's blocks"):
        sheetnet.train(from_checkpoint=ck, iterations=2)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lean = sheetnet.train(from_checkpoint=ck, iterations=2, blocks=False)  # as the CLI does
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert lean.run.start == 3 and len(lean.cost) == 3
    assert grown < 600 * 1024  # KB: a step on a batch, not every digit's blocks
    with pytest.raises(SheetnetError, match="kept its costs alone"):
        sheetnet.export(lean, tmp_path / "w.xlsx")


def app_():
    from sheetnet.cli import app
    return app


def test_a_full_batch_step_counts_every_image_it_computes():
    """The same numbers of work, whether in 250 steps of 8,000 digits or 62,500 of 32: the
    first is refused as the second would be, not taken for one chunk's work."""
    mnist = presets.get("mnist")
    with pytest.raises(SheetnetError, match="would compute"):
        mnist.run(Options(batch_size=8000, iterations=250), every=250)
    with pytest.raises(SheetnetError, match="would compute"):
        mnist.run(Options(batch_size=32, iterations=62_500), every=62_500)
    mnist.run(Options(batch_size=32, iterations=2_500), every=125)  # the default fits


def test_kept_bytes_follow_what_a_run_holds():
    """The estimate is an upper bound of what the trace holds, within a few times it."""
    run = sheetnet.train("cnn", iterations=20)
    held = sum(v.nbytes + budget.BLOCK_BYTES for it in run.trace.iterations[1:]
               for v in it.values()) / 20
    estimate = net_mod.kept_bytes(run.run.model, run.run.n_images)
    assert held <= estimate <= 4 * held
