"""The device has no TensorFlow: edge must import without it, and CLIs must start light."""

import subprocess
import sys

BLOCK_TF = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'keras', 'matplotlib', 'train', 'export'):
            raise ImportError('blocked by the test: ' + name)
sys.meta_path.insert(0, Block())
"""


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_edge_imports_with_tensorflow_unimportable():
    result = run_python(BLOCK_TF + "import edge, edge.cli; print('ok')")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_importing_edge_pulls_in_no_heavy_library():
    code = (
        "import sys, edge, edge.cli\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules]\n"
        "print(heavy)"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_stage_clis_start_without_tensorflow():
    code = (
        "import sys, train.cli, export.cli\n"
        "print([m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules])"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_importing_export_without_its_cli_imports_no_train():
    code = (
        "import sys, export, export.config, export.errors\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('train', 'tensorflow')))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
