"""A checkpoint is a file from anywhere (issue 26): whatever it holds, loading it is one line,
in bounded time and memory, before anything is unpacked or trained; it pins the data it was
trained on; an early-stopped run goes on."""

import io
import json
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from sheetnet.cli import app
from sheetnet.core import checkpoint
from tests.conftest import no_work, refused, write_csv

runner = CliRunner()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real checkpoint (Adam, batch norm: every kind of member) and its arrays."""
    folder = tmp_path_factory.mktemp("ck")
    path = folder / "ck.npz"
    result = runner.invoke(app, ["train", "--net", "mlp", "--layers", "12,4,2", "--batch-norm",
                                 "--optimizer", "adam", "--batch-size", "16", "--iterations",
                                 "3", "--validation", "0.25", "--checkpoint", str(path)])
    assert result.exit_code == 0, result.output
    with np.load(path) as f:
        return path, {k: f[k] for k in f.files}


def _write(path, arrays):
    np.savez(path, **arrays)
    return path


def _refused_from(path, message, folder):
    return refused(["train", "--from", path], message, folder)


@pytest.mark.parametrize("edit, message", [
    (lambda a: a.update(options=np.array("[" * 20_000 + "]" * 20_000)), "options are not"),
    (lambda a: a.update(options=np.array(json.dumps({"foo": 1}))), "options are not"),
    (lambda a: a.update(options=np.array('{"eta": NaN}')), "options are not"),
    (lambda a: a.update(options=np.array('{"eta": {"a": 1}}')), "options are not"),
    (lambda a: a.update(best=np.array([np.inf, 0.01])), "best iteration is not one"),
    (lambda a: a.update(best=np.array([99.0, 0.01])), "best iteration is not one"),
    (lambda a: a.update(step=np.array(1.5)), "step count"),
    (lambda a: a.update(step=np.array(10**15)), "step count"),
    (lambda a: a.update({"running:rvar2": np.ones(7)}), "rvar2 (what a layer carries"),
    (lambda a: a.update({"running:rvar9": np.ones(4)}), "rvar9 (what a layer carries"),
    (lambda a: a.pop("running:rvar2"), "rvar2 (what a layer carries"),
    (lambda a: a.update({"running:rvar2": -np.ones(4)}), "negative where it cannot be"),
    (lambda a: a.update({"state:v:W2": -np.ones((4, 12))}), "v of W2 is below 0"),
    (lambda a: a.update({"state:m:W9": np.ones((4, 12))}), "options are not options"),
    (lambda a: a.update({"param:W2": np.ones((4, 12), dtype=complex)}), "not real numbers"),
    (lambda a: a.update({"param:W2": np.array(["2020-01-01"] * 48, dtype="datetime64[D]")
                         .reshape(4, 12)}), "not real numbers"),
    (lambda a: a.update({"param:W2": np.full((4, 12), b"1.5")}), "not real numbers"),
    (lambda a: a.update(optimizer=np.array("momentum")), "options are not options"),
    (lambda a: a.update(net=np.array(3.0)), "not text"),
], ids=["deep-json", "unknown-option", "nan-option", "nested-option", "inf-best",
        "best-beyond", "half-step", "huge-step", "rvar-shape", "rvar-extra", "rvar-missing",
        "rvar-negative", "adam-v-negative", "state-extra", "complex", "datetime", "bytes",
        "other-optimizer", "net-a-number"])
def test_a_damaged_or_edited_checkpoint_is_one_line(saved, tmp_path, edit, message):
    path, arrays = saved
    edited = dict(arrays)
    edit(edited)
    _refused_from(_write(tmp_path / "edited.npz", edited), message, tmp_path)


def _zip(path, members: dict[str, bytes], compress=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compress) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return path


def _npy_header(shape, dtype="<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def test_an_array_whose_header_claims_more_than_it_holds_is_refused_before_reading(saved,
                                                                                    tmp_path):
    path, arrays = saved
    members = {}
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["param:W2.npy"] = _npy_header((10**7, 10**7)) + b"\0" * 64
    _refused_from(_zip(tmp_path / "claims.npz", members), "says it holds", tmp_path)


def test_a_small_file_that_unpacks_to_gigabytes_is_refused_unread(saved, tmp_path):
    """A member past the limit (300 MB here; 3 GB alike) compresses to a few hundred KB; its
    declared size is refused before a byte of it is inflated."""
    path, arrays = saved
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        with dst.open("param:b2.npy", "w", force_zip64=True) as member:
            member.write(_npy_header((300 * 2**17,)))
            zeros = bytes(2**24)
            for _ in range(300 * 2**20 // 2**24):
                member.write(zeros)
    assert bomb.stat().st_size < 2**20
    _refused_from(bomb, "unpack to more than", tmp_path)


@pytest.mark.parametrize("name, body, message", [
    ("junk.npy", b"anything", "is not one sheetnet writes"),
    ("param:W2.npy", b"not an array at all", "not a checkpoint sheetnet can read"),
    ("options.npy", None, "characters long"),
])
def test_junk_members_and_huge_texts_are_refused_unread(saved, tmp_path, name, body,
                                                        message):
    path, arrays = saved
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    if body is None:  # a 2 MB options string
        buf = io.BytesIO()
        np.save(buf, np.array("x" * 2_000_000))
        body = buf.getvalue()
    members[name] = body
    _refused_from(_zip(tmp_path / "junk.npz", members), message, tmp_path)


def test_a_checkpoint_pins_its_data_and_refuses_a_changed_file(tmp_path):
    data = write_csv(tmp_path / "d.csv", "label,a,b\n" + "".join(
        f"{i % 2},{i / 10},{1 - i / 10}\n" for i in range(10)))
    ck = tmp_path / "ck.npz"
    result = runner.invoke(app, ["train", "--data", str(data), "--iterations", "3",
                                 "--checkpoint", str(ck)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["train", "--from", str(ck), "--iterations", "2"])
    assert result.exit_code == 0 and f"reading --data {data.resolve()}" in result.output
    data.write_text(data.read_text().replace("0.5", "0.6"))
    _refused_from(ck, "whose contents have changed", tmp_path)
    data.unlink()
    _refused_from(ck, "not there now", tmp_path)


def test_a_checkpoint_naming_another_file_never_shows_its_contents(saved, tmp_path):
    """A checkpoint edited to read some other file (its fingerprint cannot match) is refused
    before the file is parsed: no line of it reaches an error or a workbook."""
    secret = write_csv(tmp_path / "secret.txt", "the password is hunter2\n" * 5)
    path, arrays = saved
    edited = dict(arrays)
    options = json.loads(str(arrays["options"]))
    options["data"] = str(secret)
    edited["options"] = np.array(json.dumps(options))
    out = tmp_path / "w.xlsx"
    line = refused(["export", "--from", _write(tmp_path / "edited.npz", edited), "--out", out],
                   "the checkpoint names --data", tmp_path)
    assert "hunter2" not in line


def test_an_early_stopped_run_goes_on_with_its_patience_counted_afresh(tmp_path):
    ck = tmp_path / "p.npz"
    result = runner.invoke(app, ["train", "--net", "mlp", "--validation", "0.2", "--patience",
                                 "3", "--eta", "5", "--iterations", "100", "--checkpoint",
                                 str(ck)])
    assert result.exit_code == 0 and "stopped early at iteration" in result.output
    stopped = checkpoint.load(ck)
    out = tmp_path / "on.json"
    result = runner.invoke(app, ["train", "--from", str(ck), "--iterations", "20", "--json",
                                 str(out)])
    assert result.exit_code == 0, result.output
    assert "counts from iteration" in result.output
    record = json.loads(out.read_text())
    assert record["first_iteration"] == stopped.step
    assert len(record["cost"]) >= 4  # at least --patience 3 more iterations are trained


def test_loading_refuses_before_any_work(saved, tmp_path):
    path, arrays = saved
    edited = dict(arrays)
    edited["best"] = np.array([np.inf, 0.0])
    bad = _write(tmp_path / "edited.npz", edited)
    with no_work():
        result = runner.invoke(app, ["export", "--from", str(bad), "--out",
                                     str(tmp_path / "w.xlsx")])
    assert result.exit_code == 2
