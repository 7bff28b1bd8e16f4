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


def _internal_imports(root) -> dict[str, set[str]]:
    """Every import between modules of train, export and edge, at any depth in the file."""
    import ast

    modules = {}
    for package in ("train", "export", "edge"):
        for path in sorted((root / package).rglob("*.py")):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name
                       and not name.startswith(t + ".")}
    return graph


def test_no_import_cycles_between_modules():
    from pathlib import Path

    graph = _internal_imports(Path(__file__).resolve().parents[1])
    state: dict[str, int] = {}
    cycles = []

    def visit(node, trail):
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_help_and_the_cli_module_load_no_numpy_pillow_or_pydantic():
    """`edge-classify --help` must be instant: the Python API loads on first use."""
    code = (
        "import sys, edge.cli\n"
        "from typer.testing import CliRunner\n"
        "result = CliRunner().invoke(edge.cli.app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'PIL', 'pydantic'}))\n"
        "from edge import Classifier, Result\n"
        "print(Classifier.__module__, Result.__module__)"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "edge.classifier edge.classifier"]


def test_a_classifying_run_imports_no_pydantic(tmp_path):
    """The first result waits for every import: typer 0.29's pydantic cost 0.1 s and 11 MB
    on each run (pyproject caps typer below it)."""
    from tests.edge_helpers import solid

    image = tmp_path / "red.png"
    solid((250, 10, 10), (40, 30)).save(image)
    code = (
        "import sys, edge.cli\n"
        f"sys.argv = ['edge-classify', {str(image)!r}, '-o', {str(tmp_path / 'out.csv')!r}, '-q']\n"
        "try:\n"
        "    edge.cli.main()\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "print('pydantic' in sys.modules)"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
    assert (tmp_path / "out.csv").read_text().count("\n") == 2


def test_nothing_shipped_imports_the_tests():
    """train, export, edge and scripts run without the test suite (a wheel, a Lambda zip, a
    bench checkout): no module of theirs imports `tests`."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = []
    for package in ("train", "export", "edge", "scripts"):
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(n == "tests" or n.startswith("tests.") for n in names):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []
