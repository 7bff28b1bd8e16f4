"""edge.runtime: interpreter fallback order (import machinery monkeypatched) and which kernels
ran (the real runtime, with its default delegates on and forced off)."""

import functools
import importlib
import logging
import subprocess
import sys
import types

import pytest

from edge import options, runtime
from edge.classifier import BUNDLED_MODEL as BUNDLED
from edge.errors import ModelLoadError
from edge.options import ModelOptions
from tests.cli_helpers import ROOT, invoke, write_images


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
    monkeypatch.setattr(options.os, "cpu_count", lambda: 6)
    assert options.threads_in_all() == 6
    assert options.interpreter_threads() == 3
    assert [options.interpreter_threads(n) for n in (1, 2, 5, 8)] == [1, 1, 2, 4]
    assert ModelOptions(threads=5).decoder_threads() == 5
    assert ModelOptions().interpreter_threads() == 3
    monkeypatch.setattr(options.os, "cpu_count", lambda: None)
    assert (options.threads_in_all(), options.interpreter_threads()) == (1, 1)


def test_the_runner_splits_threads_through_the_runtime(monkeypatch, tmp_path):
    """--threads N: N decoders and interpreter_threads(N) interpreter threads."""
    import edge.classifier
    import edge.run.runner
    from edge.config import ClassifyConfig

    seen = {}

    class Stop(Exception):
        pass

    def fake_classifier(model, labels, num_threads, **options):
        seen["interpreter"] = num_threads
        raise Stop

    monkeypatch.setattr(edge.classifier, "Classifier", fake_classifier)
    with pytest.raises(Stop):
        edge.run.runner.run(ClassifyConfig(paths=(tmp_path,), threads=7))
    assert seen["interpreter"] == options.interpreter_threads(7) == 3


def _without_default_delegates(monkeypatch):
    """The real runtime with `BUILTIN_WITHOUT_DEFAULT_DELEGATES`: what LiteRT does by itself
    when XNNPACK cannot start (no CPU list in a container or emulator)."""
    found = runtime.find_runtime()
    resolver = importlib.import_module(found.interpreter_class.__module__).OpResolverType
    builtin = functools.partial(
        found.interpreter_class,
        experimental_op_resolver_type=resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    monkeypatch.setattr(runtime, "find_runtime", lambda: runtime.Runtime(builtin, found.name))
    return found


def test_the_normal_path_says_xnnpack_was_applied(caplog):
    with caplog.at_level(logging.WARNING, logger="edge.runtime"):
        _, kernels = runtime.open_interpreter(BUNDLED, 2)
    found = runtime.find_runtime()
    assert kernels == runtime.Kernels(found.name, runtime.runtime_version(found), 2, True)
    assert kernels.describe().endswith(", 2 interpreter threads, XNNPACK applied")
    assert kernels.warning("m.tflite") is None and caplog.records == []


def test_without_xnnpack_the_runtime_warns_and_says_so(monkeypatch, caplog):
    found = _without_default_delegates(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="edge.runtime"):
        _, kernels = runtime.open_interpreter(BUNDLED, 1)
    assert kernels.xnnpack is False and kernels.runtime == found.name
    assert kernels.describe().endswith(
        "1 interpreter thread, XNNPACK NOT applied (builtin kernels)")
    assert [r.getMessage() for r in caplog.records] == [kernels.warning(BUNDLED.name)]
    assert caplog.records[0].getMessage().startswith(
        f"warning: {found.name} {kernels.version} did not apply XNNPACK to {BUNDLED.name}")


def test_a_runtime_without_a_node_list_cannot_tell():
    assert runtime.xnnpack_applied(object()) is None
    kernels = runtime.Kernels("tflite-runtime", "2.5.0", 4, None)
    assert "XNNPACK unknown" in kernels.describe() and kernels.warning("m.tflite") is None


def test_the_version_comes_from_the_module_without_package_metadata(monkeypatch):
    from importlib import metadata

    def no_metadata(name):
        raise AssertionError("package metadata searched")

    monkeypatch.setattr(metadata, "version", no_metadata)
    found = runtime.find_runtime()
    assert runtime.runtime_version(found)[0].isdigit()


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_tensorflow_lite_names_xnnpack_partitions_the_same_way():
    tf = pytest.importorskip("tensorflow")
    interpreter = tf.lite.Interpreter(model_path=str(BUNDLED))
    interpreter.allocate_tensors()
    assert runtime.xnnpack_applied(interpreter) is True
    builtin = tf.lite.Interpreter(
        model_path=str(BUNDLED), experimental_op_resolver_type=(
            tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
    builtin.allocate_tensors()
    assert runtime.xnnpack_applied(builtin) is False


def test_the_cli_warns_and_its_summary_names_the_kernels(tmp_path):
    """Forced fallback in a real `edge-classify` process: the warning and the summary line."""
    write_images(tmp_path / "photos", n=2)
    start = ("import functools, importlib, sys\n"
             "from edge import runtime\n"
             "found = runtime.find_runtime()\n"
             "resolver = importlib.import_module(found.interpreter_class.__module__)"
             ".OpResolverType\n"
             "builtin = functools.partial(found.interpreter_class, experimental_op_resolver_type="
             "resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES)\n"
             "runtime.find_runtime = lambda: runtime.Runtime(builtin, found.name)\n"
             "from edge.cli import main\n"
             "sys.argv[0] = 'edge-classify'\n"
             "main()\n")
    cases = {"fallback": start, "normal": "from edge.cli import main; main()"}
    stderr = {}
    for name, code in cases.items():
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "photos"), "-o",
                               str(tmp_path / f"{name}.csv"), "--threads", "2"],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        stderr[name] = done.stderr
    assert "warning: " in stderr["fallback"] and "did not apply XNNPACK" in stderr["fallback"]
    assert "XNNPACK NOT applied (builtin kernels)" in stderr["fallback"]
    assert "did not apply XNNPACK" not in stderr["normal"]
    summary = [line for line in stderr["normal"].splitlines() if line.startswith("model run by")]
    found = runtime.find_runtime()
    assert len(summary) == 1 and summary[0].endswith(" interpreter thread, XNNPACK applied")
    assert summary[0].startswith(f"model run by {found.name} {runtime.runtime_version(found)}, ")


def test_info_names_the_runtime_threads_and_kernels(monkeypatch):
    normal = invoke("--info", "--threads", "4")
    assert normal.exit_code == 0, normal.output
    row = [line for line in normal.stdout.splitlines() if line.startswith("runtime")]
    assert len(row) == 1 and row[0].endswith(
        f"{options.interpreter_threads(4)} interpreter threads, XNNPACK applied")
    _without_default_delegates(monkeypatch)
    fallback = invoke("--info")
    assert fallback.exit_code == 0, fallback.output
    assert "XNNPACK NOT applied (builtin kernels)" in fallback.stdout


def test_the_runtime_info_line_shows_only_with_verbose(tmp_path):
    """The C++ runtime announces its delegate on file descriptor 2; edge keeps it for
    --verbose, and passes on anything else the runtime prints."""
    write_images(tmp_path / "in", n=1)
    quiet = spawn_cli(tmp_path / "in")
    verbose = spawn_cli(tmp_path / "in", "--verbose")
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr
    assert "classified 1 image in" in quiet.stderr
    assert not any(line.startswith("INFO: ") for line in quiet.stderr.splitlines())
    if runtime.find_runtime().name != "tensorflow":
        assert "INFO: Created TensorFlow Lite XNNPACK delegate" in verbose.stderr


def test_what_the_runtime_prints_besides_info_is_passed_on(capfd):
    import os

    with runtime.runtime_log():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"ERROR: something the runtime could not do\n")
    err = capfd.readouterr().err
    assert "ERROR: something the runtime could not do" in err and "INFO: " not in err


def spawn_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge", *map(str, args), "-o", "-"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
