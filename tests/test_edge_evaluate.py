"""`edge-classify --eval DIR`: scores, report, sorting of the mistakes."""

from __future__ import annotations

import json
import zipfile

import pytest

from edge.classifier import BUNDLED_MODEL
from edge.errors import UsageError
from edge.evaluation.classmatch import match_folders
from edge.evaluation.evaluate import EvalConfig, evaluate
from tests.cli_helpers import csv_rows, invoke
from tests.conftest import SHARED, SHARED_ZIP
from tests.edge_helpers import build_model, save, solid

LABELS = ("cat", "dog", "bird")  # the three-class fixture: red, green, blue dominant
RED, GREEN, BLUE = (240, 10, 10), (10, 240, 10), (10, 10, 240)
# folder -> colours of its images; the model answers by colour, so the confusion is known:
# cat: 3 right, 1 as dog; dog: 2 right, 1 as bird; bird: 3 right, 1 as cat.
LAYOUT = {"cats": [RED, RED, RED, GREEN], "Dogs": [GREEN, GREEN, BLUE],
          "bird": [BLUE, BLUE, RED, BLUE]}
FOREIGN = SHARED / "foreign"
IMAGENET = FOREIGN / "models" / "mobilenet_v2_1.0_224_quant.tflite"


@pytest.fixture
def model():
    return build_model(class_names=LABELS)


def make_folder(root, layout=LAYOUT):
    for folder, colours in layout.items():
        for i, colour in enumerate(colours):
            save(solid(colour), root / folder / f"{folder[0].lower()}{i}.jpg")
    return root


def test_known_confusion_matrix_in_the_terminal(tmp_path, model):
    data = make_folder(tmp_path / "photos")
    (data / "notes.txt").write_text("not in a class folder\n")
    result = invoke("--eval", data, "--model", model)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "folders   cats -> cat, Dogs -> dog, bird" in lines
    assert "accuracy  72.73% (8/11, 95% CI 43.4-90.3%)" in lines
    assert result.stderr.rstrip().endswith(": accuracy 72.73% (8/11, 95% CI 43.4-90.3%)")
    table = lines[lines.index("true \\ predicted    cat    dog   bird"):][:4]
    assert table[1:] == ["cat                   3      1      0",
                         "dog                   0      2      1",
                         "bird                  1      0      3"]
    assert "cat         4      75.0%    75.0%" in lines
    assert "dog         3      66.7%    66.7%" in lines
    wrong = lines[lines.index("misclassified (3):") + 1:][:3]
    assert [line.split()[:3] for line in wrong] == [["bird", "as", "cat"], ["cat", "as", "dog"],
                                                    ["dog", "as", "bird"]]
    assert wrong[0].endswith(str(data / "bird" / "b2.jpg"))
    assert "not evaluated: 1 file beside the class folders (only DIR/<class>/* is)" in lines


def test_python_api_scores(tmp_path, model):
    data = make_folder(tmp_path / "photos", {"cat": [RED, RED], "dog": [RED, GREEN]})
    result = evaluate(EvalConfig.of(data, model=model, quiet=True))
    assert result.classes == ("cat", "dog")
    assert result.accuracy == pytest.approx(3 / 4)
    assert result.confusion() == (("cat", "dog"), [[2, 0], [1, 1]])
    assert result.precision("cat") == pytest.approx(2 / 3)
    assert result.recall("cat") == 1.0
    assert result.precision("dog") == 1.0
    assert result.recall("dog") == 0.5
    assert [o.path for o in result.misclassified] == [str(data / "dog" / "d0.jpg")]


def test_predictions_outside_the_folders_classes(tmp_path, model):
    data = make_folder(tmp_path / "photos", {"cat": [RED, BLUE], "dog": [GREEN, BLUE, BLUE]})
    result = evaluate(EvalConfig.of(data, model=model, quiet=True))
    assert result.confusion() == (("cat", "dog", "(other)"), [[1, 0, 1], [0, 1, 2]])
    assert result.outside() == {"bird": 3}
    assert result.precision("cat") == 1.0 and result.recall("dog") == pytest.approx(1 / 3)
    out = invoke("--eval", data, "--model", model).stdout
    assert "(other): predicted as none of the folders' classes: bird 3" in out
    assert "bird " not in out.split("confusion matrix")[0]  # no precision row for bird


def test_unreadable_images_are_listed_not_scored(tmp_path, model):
    data = make_folder(tmp_path / "photos", {"cat": [RED], "dog": [GREEN]})
    (data / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")
    result = invoke("--eval", data, "--model", model)
    assert result.exit_code == 1  # as a plain run: some files could not be classified
    assert "accuracy  100.00% (2/2, 95% CI 34.2-100.0%); 1 could not be read" in result.stdout
    assert "could not be read (1, not scored):" in result.stdout
    assert f"{data / 'dog' / 'broken.jpg'}  [not-an-image]" in result.stdout


def test_sort_into_places_only_the_mistakes_and_never_overwrites(tmp_path, model):
    data = make_folder(tmp_path / "photos")
    out = tmp_path / "review"
    save(solid(BLUE), out / "wrong" / "cat-as-dog" / "c3.jpg")  # taken name: not replaced
    taken = (out / "wrong" / "cat-as-dog" / "c3.jpg").read_bytes()
    result = invoke("--eval", data, "--model", model, "--sort-into", out)
    assert result.exit_code == 0, result.output
    placed = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert placed == ["wrong/bird-as-cat/b2.jpg", "wrong/cat-as-dog/c3-1.jpg",
                      "wrong/cat-as-dog/c3.jpg", "wrong/dog-as-bird/d2.jpg"]
    assert (out / "wrong" / "cat-as-dog" / "c3.jpg").read_bytes() == taken
    assert (data / "cats" / "c3.jpg").exists()  # copy is the default
    assert f"-> {out / 'wrong' / 'bird-as-cat' / 'b2.jpg'}" in result.stdout


def test_sort_into_inside_the_folder_is_never_read(tmp_path, model):
    data = make_folder(tmp_path / "photos")
    review = data / "_review"
    for _ in range(2):  # the second run finds _review and its copies: neither a class nor input
        result = invoke("--eval", data, "--model", model, "--sort-into", review, "--mode", "move")
        assert result.exit_code == 0, result.output
    assert "accuracy  100.00% (8/8, 95% CI 67.6-100.0%)" in result.stdout
    assert sorted(p.name for p in (review / "wrong").rglob("*.jpg")) == ["b2.jpg", "c3.jpg",
                                                                       "d2.jpg"]
    assert not (data / "cats" / "c3.jpg").exists()


def test_sort_into_holding_the_folder_is_refused(tmp_path, model):
    data = make_folder(tmp_path / "photos")
    result = invoke("--eval", data, "--model", model, "--sort-into", tmp_path)
    assert result.exit_code == 2
    assert "would be read again as input" in result.stderr


def test_dry_run_touches_nothing(tmp_path, model):
    data = make_folder(tmp_path / "photos")
    result = invoke("--eval", data, "--model", model, "--sort-into", tmp_path / "out",
                    "--mode", "move", "--dry-run")
    assert result.exit_code == 0
    assert f"would move {data / 'cats' / 'c3.jpg'} -> " in result.stderr
    assert not (tmp_path / "out").exists() and (data / "cats" / "c3.jpg").exists()


def test_unknown_class_folder_lists_the_labels(tmp_path, model):
    data = make_folder(tmp_path / "photos", {"cat": [RED], "kittens": [RED]})
    result = invoke("--eval", data, "--model", model)
    assert result.exit_code == 2
    assert ("error: the class folder 'kittens' matches none of the model's 3 labels: cat, "
            "dog, bird. Rename the folder") in result.stderr


@pytest.mark.parametrize("args, message", [
    (["extra.jpg"], "--eval takes no PATH."),
    (["--watch", "--top-k", "2"], "--eval takes no --watch, --top-k."),
])
def test_options_that_do_not_apply_are_refused(tmp_path, model, args, message):
    data = make_folder(tmp_path / "photos", {"cat": [RED]})
    result = invoke("--eval", data, "--model", model, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_no_class_folders_is_a_usage_error(tmp_path, model):
    save(solid(RED), tmp_path / "photos" / "loose.jpg")
    result = invoke("--eval", tmp_path / "photos", "--model", model)
    assert result.exit_code == 2
    assert "holds no class folders" in result.stderr


@pytest.mark.parametrize("name", ["rows.csv", "rows.json"])
def test_rows_per_image(tmp_path, model, name):
    data = make_folder(tmp_path / "photos", {"cat": [RED, GREEN]})
    output = data / "cat" / name  # beside the images: written there, never read as one
    result = invoke("--eval", data, "--model", model, "-o", output)
    assert result.exit_code == 0, result.output
    rows = csv_rows(output.read_text()) if name.endswith(".csv") else json.loads(
        output.read_text())
    assert [(r["path"], r["true"], r["predicted"], str(r["correct"]).lower()) for r in rows] == [
        (str(data / "cat" / "c0.jpg"), "cat", "cat", "true"),
        (str(data / "cat" / "c1.jpg"), "cat", "dog", "false")]


def test_rows_on_stdout_move_the_report_to_stderr(tmp_path, model):
    data = make_folder(tmp_path / "photos", {"cat": [RED]})
    result = invoke("--eval", data, "--model", model, "-o", "-")
    assert csv_rows(result.stdout)[0]["predicted"] == "cat"
    assert "accuracy  100.00% (" in result.stderr


@pytest.mark.parametrize("folders, labels, expected", [
    (["Cats", "dog"], ["cats", "dogs"], {"Cats": "cats", "dog": "dogs"}),
    (["golden_retriever", "hot-dog"], ["golden retriever", "hotdog, hot dog, red hot"],
     {"golden_retriever": "golden retriever", "hot-dog": "hotdog, hot dog, red hot"}),
    (["puppies", "boxes"], ["puppy", "box", "bus"], {"puppies": "puppy", "boxes": "box"}),
    (["cat"], ["cat", "cats"], {"cat": "cat"}),  # an exact label wins over a plural
    (["hot dog"], ["hot dog", "hotdog, hot dog"], {"hot dog": "hot dog"}),
])
def test_folder_names_match_labels(folders, labels, expected):
    assert match_folders(folders, labels) == expected


@pytest.mark.parametrize("folders, labels, message", [
    (["cat", "cats"], ["cats", "dogs"], "all stand for the label 'cats'"),
    (["Crane"], ["crane, bird", "crane, machine"], "matches several"),
    (["kitty"], [f"label {i}" for i in range(30)], "matches none of the model's 30 labels; the"),
])
def test_folder_names_that_cannot_be_matched(folders, labels, message):
    with pytest.raises(UsageError, match=message):
        match_folders(folders, labels)


@pytest.mark.skipif(not IMAGENET.is_file(), reason=f"no third-party models in {FOREIGN}")
def test_imagenet_model_on_a_few_classes(tmp_path):
    data = tmp_path / "photos"
    for folder, image in (("cheeseburger", "burger.jpg"), ("hot_dogs", "hot_dog.jpg"),
                          ("macaw", "parrot.jpg"), ("macaw", "cat_720p.jpg")):
        (data / folder).mkdir(parents=True, exist_ok=True)
        (data / folder / image).write_bytes((FOREIGN / "images" / image).read_bytes())
    result = evaluate(EvalConfig.of(data, model=IMAGENET, quiet=True))
    assert dict(result.folders)["hot_dogs"] == "hotdog, hot dog, red hot"
    assert result.classes == ("macaw", "cheeseburger", "hotdog, hot dog, red hot")  # model order
    assert result.confusion()[1] == [[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]]
    assert result.confusion()[0][-1] == "(other)"
    assert "cat" in " ".join(result.outside())


@pytest.fixture(scope="module")
def validation_folder(tmp_path_factory):
    if not SHARED_ZIP.is_file():
        pytest.skip(f"{SHARED_ZIP} not present")
    root = tmp_path_factory.mktemp("validation")
    with zipfile.ZipFile(SHARED_ZIP) as archive:
        archive.extractall(root, [n for n in archive.namelist() if "/validation/" in n])
    return root / "cats_and_dogs_filtered" / "validation"


def test_bundled_model_on_the_validation_folder(validation_folder, tmp_path):
    """The figures parity measured on the same 1,000 images through edge's path."""
    parity = json.loads((BUNDLED_MODEL.parent / "parity.json").read_text())
    (variant,) = [v for v in parity["variants"] if v["variant"] == "int8"]
    expected = variant["sets"]["validation_folder"]
    result = evaluate(EvalConfig.of(validation_folder, quiet=True))
    assert len(result.outcomes) == 1000 and not result.failed
    assert result.accuracy == pytest.approx(expected["tflite_accuracy"])
    assert result.accuracy >= 0.96
    assert result.confusion()[1] == expected["confusion"]["tflite"]


def test_uncertain_answers_are_outside_the_classes(tmp_path, model):
    data = make_folder(tmp_path / "photos", {"cat": [RED, (128, 128, 128)]})
    result = evaluate(EvalConfig.of(data, model=model, threshold=0.5, quiet=True))
    assert result.confusion() == (("cat", "(other)"), [[1, 1]])
    assert result.outside() == {"uncertain": 1}
