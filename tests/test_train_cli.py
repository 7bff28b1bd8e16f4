import json

from typer.testing import CliRunner

from tests.imagegen import make_dataset, truncated_jpeg
from train.cli import app

runner = CliRunner()


def test_prepare_only_writes_the_split(tmp_path):
    data = make_dataset(tmp_path / "data", classes=("a", "b", "c"), n_train=2, n_val=10)
    out = tmp_path / "out"
    result = runner.invoke(app, ["--data-dir", str(data), "--out", str(out), "--prepare-only"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "split.json").read_text())
    assert manifest["class_names"] == ["a", "b", "c"]
    assert len(manifest["splits"]["train"]) == 6
    assert len(manifest["splits"]["test"]) + len(manifest["splits"]["validation"]) == 30


def test_bad_files_stop_the_run_and_are_named(tmp_path):
    data = make_dataset(tmp_path / "data")
    truncated_jpeg(data / "train" / "dogs" / "half.jpg")
    (data / "train" / "cats" / "readme.jpg").write_text("hello")
    out = tmp_path / "out"
    result = runner.invoke(app, ["--data-dir", str(data), "--out", str(out), "--prepare-only"])
    assert result.exit_code == 1
    assert "half.jpg" in result.output and "readme.jpg" in result.output
    assert "--skip-bad" in result.output
    assert "Traceback" not in result.output
    assert not (out / "split.json").exists()


def test_skip_bad_trains_without_them_and_records_them(tmp_path):
    data = make_dataset(tmp_path / "data")
    (data / "train" / "cats" / "readme.jpg").write_text("hello")
    out = tmp_path / "out"
    args = ["--data-dir", str(data), "--out", str(out), "--prepare-only", "--skip-bad"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "split.json").read_text())
    assert [s["path"] for s in manifest["skipped"]] == ["train/cats/readme.jpg"]
    assert all("readme" not in rel for rel, _ in manifest["splits"]["train"])


def test_missing_data_dir_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "nope"), "--prepare-only"])
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_bad_model_list_is_a_usage_error():
    result = runner.invoke(app, ["--models", "1,7"])
    assert result.exit_code == 2


def test_bad_seed_list_is_a_usage_error():
    result = runner.invoke(app, ["--seeds", "1337,1,1337", "--prepare-only"])
    assert result.exit_code == 2
    assert "repeats a seed" in result.output
    assert "Traceback" not in result.output
