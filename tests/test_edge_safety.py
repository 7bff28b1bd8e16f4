"""edge-classify where a careless or hostile run could lose data or answer wrongly without a
word: outputs that are files the run reads, two runs on one output, existing outputs,
resumed files that must come back byte for byte, unreadable folders, odd labels and options,
one-output and several-output models, and what a stopped --watch says."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import ROOT, csv_rows, invoke, spawn, wait_for, write_images
from tests.edge_helpers import MODELS, build_model, save, solid


@pytest.fixture
def model():
    return build_model("int8", 16)


def _bare(tmp_path, name):
    """A committed fixture model without metadata, copied into the test's folder."""
    path = tmp_path / name
    path.write_bytes((MODELS / name).read_bytes())
    return path


def _labels(tmp_path, *names):
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(names) + "\n")
    return path


# Outputs that are files the run reads


@pytest.mark.parametrize("what", ["model", "labels", "model hard link"])
def test_output_that_is_a_file_the_run_reads_is_refused(tmp_path, what):
    model = tmp_path / "m.tflite"
    model.write_bytes(build_model("int8", 16).read_bytes())
    labels = _labels(tmp_path, "cats", "dogs")
    folder = write_images(tmp_path / "photos", 2)
    target = {"model": model, "labels": labels, "model hard link": tmp_path / "alias.csv"}[what]
    if what == "model hard link":
        os.link(model, target)
    before = {p: p.read_bytes() for p in (model, labels)}
    result = invoke(folder, "--model", model, "--labels", labels, "-o", target,
                    "--format", "csv", "--overwrite")
    assert result.exit_code == 2, result.output
    assert f"--output {target} is the" in result.stderr and "destroy" in result.stderr
    assert {p: p.read_bytes() for p in (model, labels)} == before


def test_output_that_is_the_model_is_refused_in_eval_too(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(build_model("int8", 16).read_bytes())
    write_images(tmp_path / "ev" / "cats", 1)
    before = model.read_bytes()
    result = invoke("--eval", tmp_path / "ev", "--model", model, "-o", model, "--format", "csv")
    assert result.exit_code == 2 and "is the model" in result.stderr
    assert model.read_bytes() == before


# Existing outputs are never silently replaced


def test_existing_output_is_refused_without_resume_or_overwrite(tmp_path, model):
    folder = write_images(tmp_path / "photos", 2)
    out = tmp_path / "o.csv"
    assert invoke(folder, "--model", model, "-o", out).exit_code == 0
    before = out.read_bytes()
    result = invoke(folder, "--model", model, "-o", out)
    assert result.exit_code == 2
    assert "exists already" in result.stderr
    assert "--resume" in result.stderr and "--overwrite" in result.stderr
    assert out.read_bytes() == before
    result = invoke(folder, "--model", model, "-o", out, "--overwrite")
    assert result.exit_code == 0 and len(csv_rows(out.read_text())) == 2


def test_existing_eval_output_is_refused_without_overwrite(tmp_path, model):
    write_images(tmp_path / "ev" / "cats", 1)
    out = tmp_path / "rows.csv"
    out.write_text("keep me\n")
    result = invoke("--eval", tmp_path / "ev", "--model", model, "-o", out)
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    assert out.read_text() == "keep me\n"
    assert invoke("--eval", tmp_path / "ev", "--model", model, "-o", out,
                  "--overwrite").exit_code == 0
    assert "keep me" not in out.read_text()


def test_watch_restarted_without_resume_keeps_the_log(tmp_path, model):
    folder = write_images(tmp_path / "photos", 2)
    log = tmp_path / "log.jsonl"
    log.write_text('{"path": "earlier.jpg", "label": "cats"}\n')
    result = invoke(folder, "--watch", "--model", model, "-o", log)
    assert result.exit_code == 2 and "--resume" in result.stderr
    assert log.read_text() == '{"path": "earlier.jpg", "label": "cats"}\n'


def test_stopping_watch_says_how_many_and_how_to_continue(tmp_path, model):
    folder = write_images(tmp_path / "photos", 3)
    log = tmp_path / "log.jsonl"
    child = spawn(folder, "--watch", "--interval", "0.05", "--settle", "0", "--model", model,
                  "-o", log)
    try:
        assert wait_for(lambda: log.exists() and len(log.read_text().splitlines()) == 3)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert "stopped watching after classifying 3 images" in err
    assert f"--resume -o {log}" in err
    assert "interrupted: run again with --resume to finish" not in err


def test_two_runs_on_one_output_the_second_is_refused(tmp_path, model):
    folder = write_images(tmp_path / "photos", 2)
    out = tmp_path / "o.csv"
    first = spawn(folder, "--watch", "--interval", "0.05", "--settle", "0", "--model", model,
                  "-o", out)
    try:
        assert wait_for(lambda: out.exists() and len(csv_rows(out.read_text())) == 2)
        before = out.read_bytes()
        second = subprocess.run(
            [sys.executable, "-m", "edge", str(folder), "--model", str(model), "-o", str(out),
             "--overwrite"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"(pid {first.pid}) is writing {out}" in second.stderr
        assert out.read_bytes() == before
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)


def test_output_in_missing_folders_is_created(tmp_path, model):
    folder = write_images(tmp_path / "photos", 2)
    out = tmp_path / "new" / "sub" / "o.csv"
    result = invoke(folder, "--model", model, "-o", out)
    assert result.exit_code == 0, result.output
    assert len(csv_rows(out.read_text())) == 2


def test_eval_output_that_cannot_be_written_fails_before_classifying(tmp_path, model):
    write_images(tmp_path / "ev" / "cats", 1)
    not_a_folder = tmp_path / "ro"
    not_a_folder.write_text("a file where a folder should be\n")
    result = invoke("--eval", tmp_path / "ev", "--model", model, "-o", not_a_folder / "r.csv")
    assert result.exit_code == 1 and str(not_a_folder / "r.csv") in result.stderr
    assert "accuracy" not in result.stdout and "Traceback" not in result.output


def test_eval_rows_that_cannot_be_written_still_show_the_report(tmp_path, model, monkeypatch):
    write_images(tmp_path / "ev" / "cats", 1)
    import edge.evaluation.evalreport

    def denied(*args):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".rows.csv.tmp"))

    monkeypatch.setattr(edge.evaluation.evalreport, "_write", denied)
    result = invoke("--eval", tmp_path / "ev", "--model", model, "-o", tmp_path / "rows.csv")
    assert result.exit_code == 1
    assert "accuracy" in result.stdout
    assert f"cannot write the rows to {tmp_path / 'rows.csv'}" in result.stderr


# --resume keeps earlier rows byte for byte


def test_resume_keeps_labels_with_semicolons(tmp_path, model):
    folder = write_images(tmp_path / "photos", 2)
    labels = _labels(tmp_path, "cats;felines", "dogs:canines")
    out = tmp_path / "o.csv"
    assert invoke(folder / "img 00.jpg", "--model", model, "--labels", labels, "--top-k", "2",
                  "-o", out).exit_code == 0
    first = out.read_text()
    result = invoke(folder, "--model", model, "--labels", labels, "--top-k", "2", "-o", out,
                    "--resume")
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith(first)
    rows = csv_rows(out.read_text())
    assert [r["top_class"] for r in rows] == ["cats;felines", "dogs:canines"]


def test_resume_after_a_cut_inside_a_quoted_name_redoes_that_row(tmp_path, model):
    folder = tmp_path / "photos"
    save(solid((240, 10, 10)), folder / "a.jpg")
    save(solid((10, 10, 240)), folder / "b\nnew line.jpg")
    out = tmp_path / "o.csv"
    assert invoke(folder, "--model", model, "-o", out).exit_code == 0
    text = out.read_text()
    cut = text.index("b\nnew") + 2
    out.write_text(text[:cut])
    result = invoke(folder, "--model", model, "-o", out, "--resume")
    assert result.exit_code == 0, result.output
    rows = csv_rows(out.read_text())
    assert sorted(Path(r["path"]).name for r in rows) == ["a.jpg", "b\nnew line.jpg"]
    assert [r["label"] for r in rows] == ["cats", "dogs"]


@pytest.mark.parametrize("first, then", [([], ["--threshold", "0.999"]),
                                         (["--threshold", "0.5"], []),
                                         ([], ["--top-k", "2"])])
def test_resume_with_another_threshold_or_top_k_is_refused(tmp_path, model, first, then):
    folder = write_images(tmp_path / "photos", 2)
    out = tmp_path / "o.csv"
    assert invoke(folder / "img 00.jpg", "--model", model, "-o", out, *first).exit_code == 0
    before = out.read_bytes()
    result = invoke(folder, "--model", model, "-o", out, "--resume", *then)
    assert result.exit_code == 2
    assert "--threshold and --top-k" in result.stderr
    assert out.read_bytes() == before


def test_resume_without_a_record_checks_the_labels(tmp_path, model):
    folder = write_images(tmp_path / "photos", 2)
    out = tmp_path / "o.csv"
    out.write_text("path,label,confidence,top_class,top_k,error_kind,error_message\n"
                   f"{folder / 'img 00.jpg'},apples,0.9,apples,apples:0.9000,,\n")
    result = invoke(folder, "--model", model, "-o", out, "--resume")
    assert result.exit_code == 2 and "apples" in result.stderr
    assert "apples" in out.read_text() and len(csv_rows(out.read_text())) == 1


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_a_failed_write_names_the_file_and_leaves_it_readable(tmp_path, model, fmt):
    folder = write_images(tmp_path / "photos", 40)
    out = tmp_path / f"o.{fmt}"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))

    run = subprocess.run([sys.executable, "-m", "edge", str(folder), "--model", str(model),
                          "-o", str(out), "--batch", "1"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, preexec_fn=limit)
    assert run.returncode == 1
    assert f"cannot write {out}" in run.stderr and "--resume" in run.stderr
    assert "Traceback" not in run.stderr
    if fmt == "json":
        assert 0 < len(json.loads(out.read_text())) < 40
    again = invoke(folder, "--model", model, "-o", out, "--resume")
    assert again.exit_code == 0, again.output
    text = out.read_text()
    count = {"csv": lambda: len(csv_rows(text)), "jsonl": lambda: len(text.splitlines()),
             "json": lambda: len(json.loads(text))}[fmt]()
    assert count == 40


# Folders, files and options


@pytest.mark.parametrize("eval_mode", [False, True])
def test_unreadable_folder_is_reported_and_fails_the_run(tmp_path, model, monkeypatch,
                                                         eval_mode):
    folder = write_images(tmp_path / "photos" / "cats", 1)
    locked = write_images(folder / "locked", 1)
    scandir = os.scandir

    def denied(path):  # what a folder of mode 000 does to a normal user (root reads it)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", denied)
    args = ["--eval", tmp_path / "photos"] if eval_mode else [folder, "-o", "-"]
    result = invoke(*args, "--model", model)
    assert result.exit_code == 1, result.output
    assert f"could not read the folder {locked} (Permission denied)" in result.output


def test_eval_sort_into_a_class_folder_is_refused(tmp_path, model):
    write_images(tmp_path / "ev" / "cats", 1)
    write_images(tmp_path / "ev" / "dogs", 1)
    result = invoke("--eval", tmp_path / "ev", "--model", model, "--sort-into",
                    tmp_path / "ev" / "cats")
    assert result.exit_code == 2 and "class folder" in result.stderr
    result = invoke("--eval", tmp_path / "ev", "--model", model, "--sort-into",
                    tmp_path / "ev" / "dogs" / "sorted")
    assert result.exit_code == 2 and "class folder" in result.stderr


def test_watch_reads_a_new_file_that_reuses_a_moved_name(tmp_path, model):
    folder = tmp_path / "photos"
    folder.mkdir()
    log = tmp_path / "log.jsonl"
    child = spawn(folder, "--watch", "--interval", "0.05", "--settle", "0", "--model", model,
                  "--sort-into", tmp_path / "sorted", "--mode", "move", "-o", log)
    try:
        photo = folder / "IMG_0001.jpg"
        save(solid((240, 10, 10)), photo)
        assert wait_for(lambda: (tmp_path / "sorted" / "cats" / "IMG_0001.jpg").exists())
        save(solid((10, 10, 240)), photo)
        assert wait_for(lambda: any((tmp_path / "sorted" / "dogs").glob("IMG_0001*.jpg")))
    finally:
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=30)
    labels = [json.loads(line)["label"] for line in log.read_text().splitlines()]
    assert labels == ["cats", "dogs"]


def test_watch_without_a_folder_is_a_usage_error(tmp_path, model):
    photo = save(solid((240, 10, 10)), tmp_path / "one.jpg")
    result = invoke(photo, "--watch", "--model", model)
    assert result.exit_code == 2 and "folder" in result.stderr


@pytest.mark.parametrize("option", [["--crop", "bogus"], ["--resize", "bogus"],
                                    ["--mean", "0", "--std", "-255"]])
def test_impossible_pixel_options_are_usage_errors(tmp_path, option):
    model = build_model("float32", 16, with_metadata=False)
    photo = save(solid((240, 10, 10)), tmp_path / "one.jpg")
    result = invoke(photo, "--model", model, "--labels", _labels(tmp_path, "cats", "dogs"),
                    *(["--mean", "0", "--std", "255"] if "--mean" not in option else []),
                    *option)
    assert result.exit_code == 2, result.output
    assert option[-2] in result.stderr


def test_labels_with_an_empty_line_are_refused(tmp_path, model):
    photo = save(solid((240, 10, 10)), tmp_path / "one.jpg")
    labels = tmp_path / "labels.txt"
    labels.write_text("cats\n\ndogs\n")
    three = build_model("int8", 16, class_names=("cats", "green", "dogs"))
    result = invoke(photo, "--model", three, "--labels", labels)
    assert result.exit_code == 3 and "line 2 is empty" in result.stderr


def test_hdf5_weights_beside_photos_are_skipped(tmp_path, model):
    folder = write_images(tmp_path / "photos", 1)
    (folder / "weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    result = invoke(folder, "--model", model, "-o", "-")
    assert result.exit_code == 0, result.output
    assert len(csv_rows(result.stdout)) == 1 and "skipped 1 non-image file" in result.stderr


def test_heic_photos_are_named_with_how_to_read_them(tmp_path, model):
    folder = write_images(tmp_path / "photos", 1)
    (folder / "IMG_0002.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64)
    result = invoke(folder, "--model", model, "-o", "-")
    assert "skipped 1 HEIC photo:" in result.stderr and "pillow-heif" in result.stderr
    assert "non-image" not in result.stderr
    named = invoke(folder / "IMG_0002.HEIC", "--model", model, "-o", "-")
    assert named.exit_code == 1 and "pillow-heif" in csv_rows(named.stdout)[0]["error_message"]


def test_closed_stdout_with_an_output_file_runs(tmp_path, model):
    folder = write_images(tmp_path / "photos", 2)
    out = tmp_path / "o.csv"
    run = subprocess.run(f'"{sys.executable}" -m edge "{folder}" --model "{model}" -o "{out}" '
                         ">&-", shell=True, cwd=ROOT, capture_output=False, timeout=60,
                         stderr=subprocess.PIPE, text=True)
    assert run.returncode == 0, run.stderr
    assert len(csv_rows(out.read_text())) == 2


def test_closed_stdout_for_rows_on_stdout_is_a_clear_error(tmp_path, model):
    folder = write_images(tmp_path / "photos", 2)
    run = subprocess.run(f'"{sys.executable}" -m edge "{folder}" --model "{model}" >&-',
                         shell=True, cwd=ROOT, timeout=60, stderr=subprocess.PIPE, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "-o FILE" in run.stderr


# Models with one output, several outputs, or no class scores


@pytest.mark.parametrize("name", ["float32-16-sigmoid-1class.tflite",
                                  "float32-16-logit-1class.tflite"])
def test_one_output_binary_model_gives_both_classes(tmp_path, name):
    model = _bare(tmp_path, name)
    folder = tmp_path / "photos"
    save(solid((240, 10, 10)), folder / "red.jpg")
    save(solid((10, 10, 240)), folder / "blue.jpg")
    result = invoke(folder, "--model", model, "--labels", _labels(tmp_path, "cats", "dogs"),
                    "--mean", "0", "--std", "1", "-o", "-", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["red.jpg"]["label"] == "cats" and rows["blue.jpg"]["label"] == "dogs"
    for row in rows.values():
        assert row["confidence"] > 0.95
        assert sum(row["probabilities"]) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name", ["float32-16-sigmoid-1class.tflite",
                                  "float32-16-logit-1class.tflite"])
def test_one_output_model_with_one_label_is_refused(tmp_path, name):
    model = _bare(tmp_path, name)
    photo = save(solid((240, 10, 10)), tmp_path / "one.jpg")
    result = invoke(photo, "--model", model, "--labels", _labels(tmp_path, "dogs"),
                    "--mean", "0", "--std", "1")
    assert result.exit_code == 3
    assert "two class names" in result.stderr and "first for a low score" in result.stderr


def test_two_output_model_reads_the_softmax_output(tmp_path):
    model = _bare(tmp_path, "float32-16-embedding-3class.tflite")
    photo = save(solid((10, 240, 10)), tmp_path / "green.jpg")
    args = ["--model", model, "--mean", "0", "--std", "1"]
    result = invoke(photo, *args, "--labels", _labels(tmp_path, "red", "green", "blue"),
                    "-o", "-", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["label"] == "green"
    five = invoke(photo, *args, "--labels", _labels(tmp_path, *"abcde"))
    assert five.exit_code == 3 and "3 outputs" in five.stderr


def test_info_on_a_detector_says_it_is_not_a_classifier(tmp_path):
    model = _bare(tmp_path, "float32-16-detection-10class.tflite")
    result = invoke("--info", "--model", model, "--mean", "0", "--std", "1")
    assert result.exit_code == 3
    assert "is not an image classifier (outputs:" in result.stderr
    assert "--labels" not in result.stderr



# Teachable Machine's preprocessing


def _teachable_reference(photo: Path) -> np.ndarray:
    """What Teachable Machine's export snippet feeds the model (ImageOps.fit with LANCZOS,
    then x / 127.5 - 1), through the fixture's known weights (Rescaling back to [0, 1],
    global average, the colour rule's dense layer, softmax)."""
    from PIL import Image, ImageOps

    image = ImageOps.fit(Image.open(photo).convert("RGB"), (16, 16),
                         Image.Resampling.LANCZOS)
    values = np.asarray(image, np.float32) / 127.5 - 1
    mean = (values * 0.5 + 0.5).mean(axis=(0, 1))
    logits = mean @ np.array([[8.0, -8.0], [0.0, 0.0], [-8.0, 8.0]], np.float32)
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def _striped_photo(path: Path) -> Path:
    """800x600, red with blue columns just where a resize without antialiasing samples the
    centre square: mostly red to the eye (and to an antialiased resize), blue to sampling."""
    from PIL import Image

    pixels = np.zeros((600, 800, 3), np.uint8)
    pixels[:, :, 0] = 230
    for column in range(800):
        if (column - 100) % 75 in (0, 37, 38):
            pixels[:, column] = (10, 10, 230)
    Image.fromarray(pixels).save(path)
    return path


def test_teachable_machine_flags_reproduce_its_preprocessing(tmp_path):
    model = _bare(tmp_path, "float32-16-teachable.tflite")
    labels = _labels(tmp_path, "cats", "dogs")
    photo = _striped_photo(tmp_path / "borderline.png")
    expected = _teachable_reference(photo)
    flags = ["--crop", "center", "--resize", "antialias", "--mean", "127.5", "--std", "127.5"]
    result = invoke(photo, "--model", model, "--labels", labels, *flags, "-o", "-",
                    "--format", "jsonl")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["probabilities"] == pytest.approx(expected.tolist(), abs=1e-5)
    assert row["label"] == "cats"
    sampled = invoke(photo, "--model", model, "--labels", labels, "--crop", "center",
                     "--mean", "127.5", "--std", "127.5", "-o", "-", "--format", "jsonl")
    assert json.loads(sampled.stdout)["label"] == "dogs"  # why the flags matter
    info = invoke("--info", "--model", model, "--labels", labels, *flags)
    assert info.exit_code == 0 and "resize antialias [--resize option], crop center" in \
        info.stdout


def test_output_to_a_device_leaves_nothing_beside_it(tmp_path, model):
    folder = write_images(tmp_path / "photos", 1)
    device = tmp_path / "null"
    os.symlink(os.devnull, device)
    result = invoke(folder, "--model", model, "-o", device, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "photos"]
