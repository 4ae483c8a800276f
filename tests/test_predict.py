"""``dlcore predict``, ``evaluate`` and ``plot`` as a user meets them: a bad input among good
ones, a CSV listing in the format the run trained on, a model path that is not there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import BACKENDS
from test_cli import assert_one_error_line, dlcore
from test_runs import write_pngs

needs_backend = pytest.mark.skipif(not BACKENDS, reason="needs a backend")


@pytest.fixture(scope="module")
def tutorial_run(tmp_path_factory) -> tuple[Path, Path, float]:
    """(run folder, folder of the data, test accuracy) of a run trained, as the PyTorch tutorial
    keeps its images, from CSV files of bare file names and labels (with a header) and a folder
    of images given apart (``data.images``)."""
    from dlcore.testing.data import learnable_images

    root = tmp_path_factory.mktemp("tutorial")
    for split, n, seed in (("train", 300, 0), ("test", 60, 1)):
        images, labels = learnable_images(n, seed)
        paths = write_pngs(images, root / "pics" / split)
        (root / f"{split}.csv").write_text("file,label\n" + "".join(f"{split}/{p.name},{y}\n"
                                                                    for p, y in zip(paths, labels)))
    config = root / "run.toml"
    config.write_text(f'[run]\nname = "bands"\n\n[data]\ndataset = "image-csv"\ntrain = "{root / "train.csv"}"\n'
                      f'test = "{root / "test.csv"}"\nimages = "{root / "pics"}"\n\n[model]\nkind = "mlp"\n'
                      f'hidden = [32]\n\n[trainer]\nepochs = 6\noptimizer = "adam"\nlr = 3e-3\nseed = 0\n'
                      f'backend = "{BACKENDS[0]}"\n')
    out = dlcore("train", "--config", str(config), "--run-dir", str(root / "runs"), "--json", "--no-progress",
                 env={"DLCORE_CACHE_DIR": str(root / "cache")})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["accuracy"] > 0.9
    return Path(result["run"]), root, result["accuracy"]


@needs_backend
@pytest.mark.slow  # one backend's: trains a run with the command line
def test_predict_reports_each_bad_input_on_its_line_predicts_the_others_and_exits_1(tutorial_run, tmp_path):
    run, root, _ = tutorial_run
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    good = [str(root / "pics" / "test" / "000.png"), str(root / "pics" / "test" / "001.png")]
    out = dlcore("predict", str(run), good[0], str(broken), str(tmp_path / "gone.png"), good[1])
    assert out.returncode == 1, out.stderr
    assert [line.split(": ")[0] for line in out.stdout.splitlines()] == good  # the others, predicted
    errors = [line for line in out.stderr.splitlines() if line.startswith("dlcore: error: ")]
    assert len(errors) == 2
    assert errors[0].startswith(f"dlcore: error: {broken}: cannot read the image")
    assert errors[1] == f"dlcore: error: {tmp_path / 'gone.png'}: no such file or folder"
    listed = dlcore("predict", str(run), good[0], str(broken), "--json")
    assert listed.returncode == 1
    answers = json.loads(listed.stdout.splitlines()[-1])
    assert answers[0]["input"] == good[0] and answers[1]["error"].startswith(f"{broken}: cannot read the image")


@needs_backend
@pytest.mark.slow  # one backend's: trains a run with the command line
def test_predict_reads_a_csv_listing_in_the_format_the_run_trained_on(tutorial_run, tmp_path):
    run, root, accuracy = tutorial_run
    listing = tmp_path / "listing.csv"  # the test listing, elsewhere: its names are in the run's data.images
    listing.write_text((root / "test.csv").read_text())
    out = dlcore("predict", str(run), str(listing), "--json")
    assert out.returncode == 0, out.stderr
    answers = json.loads(out.stdout.splitlines()[-1])
    rows = [line.split(",") for line in listing.read_text().splitlines()[1:]]
    assert [a["input"] for a in answers] == [str(root / "pics" / name) for name, _ in rows]
    assert sum(a["label"] == int(label) for a, (_, label) in zip(answers, rows)) / len(rows) == pytest.approx(accuracy)
    beside = root / "beside.csv"  # relative to the listing's own folder, as training reads it
    beside.write_text("file,label\npics/test/000.png,3\npics/test/none.png,1\npics/test/001.png,2\n")
    out = dlcore("predict", str(run), str(beside))
    assert out.returncode == 1 and len(out.stdout.splitlines()) == 2
    assert f"dlcore: error: {beside}, row 3: image {root / 'pics/test/none.png'} does not exist" in out.stderr


@pytest.mark.parametrize("args, missing", [
    (["evaluate", "missing.npz"], "missing.npz"),
    (["evaluate", "runs/nothing"], "runs/nothing"),
    (["predict", "missing.npz", "a.png"], "missing.npz"),
    (["predict", "runs/nothing", "a.png"], "runs/nothing"),
    (["plot", "runs/nothing"], "runs/nothing"),
])
def test_a_model_or_run_that_is_not_there_is_named_as_missing(args, missing):
    assert_one_error_line(dlcore(*args), f"{missing}: no such file or folder", status=2)
