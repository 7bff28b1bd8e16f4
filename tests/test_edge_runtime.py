"""edge.runtime: interpreter fallback order, with the import machinery monkeypatched."""

import importlib
import logging
import types

import pytest

from edge import runtime
from edge.errors import ModelLoadError


def _fake_imports(monkeypatch, available):
    imported = []

    def fake_import(name):
        imported.append(name)
        if name in available:
            return types.SimpleNamespace(Interpreter=f"{name}.Interpreter")
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(importlib, "import_module", fake_import)
    return imported


def test_prefers_ai_edge_litert(monkeypatch):
    imported = _fake_imports(monkeypatch, {"ai_edge_litert.interpreter",
                                           "tflite_runtime.interpreter", "tensorflow.lite"})
    found = runtime.find_runtime()
    assert found == runtime.Runtime("ai_edge_litert.interpreter.Interpreter", "ai-edge-litert")
    assert imported == ["ai_edge_litert.interpreter"]


def test_then_tflite_runtime(monkeypatch):
    imported = _fake_imports(monkeypatch, {"tflite_runtime.interpreter", "tensorflow.lite"})
    assert runtime.find_runtime().name == "tflite-runtime"
    assert imported == ["ai_edge_litert.interpreter", "tflite_runtime.interpreter"]


def test_then_tensorflow_with_a_note(monkeypatch, caplog):
    _fake_imports(monkeypatch, {"tensorflow.lite"})
    with caplog.at_level(logging.WARNING, logger="edge.runtime"):
        assert runtime.find_runtime().name == "tensorflow"
    assert [r.getMessage() for r in caplog.records] == [runtime.TENSORFLOW_NOTE]


def test_none_is_a_clear_error_with_the_pip_command(monkeypatch):
    _fake_imports(monkeypatch, set())
    with pytest.raises(ModelLoadError, match="pip install ai-edge-litert"):
        runtime.find_runtime()


def test_real_runtime_rejects_a_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "junk.tflite"
    path.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(ModelLoadError, match="junk.tflite"):
        runtime.open_interpreter(path)
    with pytest.raises(ModelLoadError, match="not found"):
        runtime.open_interpreter(tmp_path / "missing.tflite")


def test_the_interpreter_gets_half_the_threads(monkeypatch):
    monkeypatch.setattr(runtime.os, "cpu_count", lambda: 6)
    assert runtime.cpu_threads() == 6
    assert runtime.default_interpreter_threads() == 3
    assert [runtime.default_interpreter_threads(n) for n in (1, 2, 5, 8)] == [1, 1, 2, 4]
    monkeypatch.setattr(runtime.os, "cpu_count", lambda: None)
    assert (runtime.cpu_threads(), runtime.default_interpreter_threads()) == (1, 1)


def test_the_runner_splits_threads_through_the_runtime(monkeypatch, tmp_path):
    """--threads N: N decoders and default_interpreter_threads(N) interpreter threads."""
    import edge.runner
    from edge.config import ClassifyConfig

    seen = {}

    class Stop(Exception):
        pass

    def fake_classifier(model, labels, num_threads, **options):
        seen["interpreter"] = num_threads
        raise Stop

    monkeypatch.setattr(edge.runner, "Classifier", fake_classifier)
    with pytest.raises(Stop):
        edge.runner.run(ClassifyConfig(paths=(tmp_path,), threads=7))
    assert seen["interpreter"] == runtime.default_interpreter_threads(7) == 3
