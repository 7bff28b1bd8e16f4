"""The Lambda zip builder's offline parts, and the handler's import discipline."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def build_lambda():
    path = ROOT / "scripts" / "build_lambda.py"
    spec = importlib.util.spec_from_file_location("build_lambda", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_platform_tags_cover_manylinux_up_to_lambda_glibc(build_lambda):
    tags = build_lambda.platform_tags("arm64")
    assert tags[0] == "manylinux2014_aarch64"
    assert "manylinux_2_27_aarch64" in tags and tags[-1] == "manylinux_2_34_aarch64"
    assert all(tag.endswith("_x86_64") for tag in build_lambda.platform_tags("x86_64"))


def test_zip_holds_edge_and_model_and_is_reproducible(build_lambda, tmp_path):
    model = tmp_path / "model.tflite"
    model.write_bytes(b"TFL3 not really a model")
    staging = tmp_path / "package"
    build_lambda.copy_edge(staging, model)
    (staging / "numpy").mkdir()
    (staging / "numpy" / "__init__.py").write_text("")
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    zipped, unzipped = build_lambda.write_zip(staging, first)
    build_lambda.write_zip(staging, second)
    assert first.read_bytes() == second.read_bytes()
    names = zipfile.ZipFile(first).namelist()
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "edge").rglob("*.py")}
    assert "edge/serverless/__init__.py" in modules and "edge/serverless/dispatch.py" in modules
    assert modules <= set(names) and "edge/models/cats_vs_dogs_int8.tflite" in names
    report = (ROOT / "edge" / "models" / "parity.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert {f"edge/models/{name}" for name in linked} <= set(names), "parity.md's pictures"
    assert not any("__pycache__" in n for n in names)
    assert unzipped == sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    assert zipped == first.stat().st_size


def test_build_refuses_a_missing_model(build_lambda, tmp_path, capsys):
    assert build_lambda.main(["--model", str(tmp_path / "none.tflite")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_handler_import_needs_neither_tensorflow_nor_boto3():
    code = ("import sys; sys.modules['tensorflow'] = None; import edge.serverless; "
            "assert 'boto3' not in sys.modules and 'keras' not in sys.modules, sorted(sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=ROOT)
    assert completed.returncode == 0, completed.stderr


def test_every_package_and_the_bundled_model_are_in_the_build():
    tomllib = pytest.importorskip("tomllib")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for top in ("train", "export", "edge") for p in (ROOT / top).rglob("__init__.py")}
    assert found | {"edge.models"} == set(setuptools["packages"])
    assert "*.tflite" in setuptools["package-data"]["edge.models"]
