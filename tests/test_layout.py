"""The architecture the folder shows (issue 24 item 1): torch lives in ``hybridcodec.nn`` and
``hybridcodec.training``; the codec core beside them imports neither torch nor those wings at load,
and no two modules import each other, not even inside functions."""

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "hybridcodec"
WINGS = ("nn", "training")
#: modules of the wings that the CLI imports before torch: they import no torch either
TORCH_FREE_IN_WINGS = {"training.config", "training.prefetch"}


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(PKG).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _import_nodes(tree: ast.Module) -> list[tuple[ast.stmt, bool]]:
    """Every import statement that runs, with whether it runs at load (not inside a function);
    imports under ``if TYPE_CHECKING:`` never run and are left out."""
    out: list[tuple[ast.stmt, bool]] = []

    def walk(node: ast.AST, at_load: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                out.append((child, at_load))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                walk(child, False)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    walk(other, at_load)
            else:
                walk(child, at_load)

    walk(tree, True)
    return out


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """(imported module, at load?) for every import in ``path``; modules relative to the
    package, ``torch`` for torch."""
    pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    pkg = [p for p in pkg if p]
    out = []
    for node, top in _import_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name.split(".")[0], top) for a in node.names
                    if a.name.split(".")[0] == "torch"]
            out += [(a.name[len("hybridcodec."):], top) for a in node.names
                    if a.name.startswith("hybridcodec.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                mod = node.module or ""
                if mod.split(".")[0] == "torch":
                    out.append(("torch", top))
                elif mod.startswith("hybridcodec."):
                    out.append((mod[len("hybridcodec."):], top))
                continue
            base = pkg[: len(pkg) - node.level + 1]
            if node.module:
                out.append((".".join([*base, node.module]), top))
            else:
                out += [(".".join([*base, a.name]), top) for a in node.names]
    return out


def _graph() -> dict[str, dict[str, bool]]:
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        edges: dict[str, bool] = {}
        for target, top in _imports(name, path):
            while target and target not in mods and target != "torch":
                target = target.rsplit(".", 1)[0] if "." in target else ""
            if target and target != name:
                edges[target] = edges.get(target, False) or top
        graph[name] = edges
    return graph


def _wing(name: str) -> str | None:
    return name.split(".")[0] if name.split(".")[0] in WINGS else None


def test_the_core_imports_no_torch_and_no_wing_at_load():
    bad = [(m, t) for m, edges in _graph().items() for t, top in edges.items()
           if top and (_wing(m) is None or m in TORCH_FREE_IN_WINGS)
           and (t == "torch" or (_wing(t) and t not in TORCH_FREE_IN_WINGS))]
    assert not bad, f"imported at load by the torch-free side: {bad}"


def test_torch_is_imported_only_by_the_wings():
    at_load = sorted(m for m, edges in _graph().items() if edges.get("torch"))
    assert at_load and all(_wing(m) for m in at_load), at_load


def test_no_import_cycles_even_inside_functions():
    graph = {m: {t for t in e if t != "torch" and t != ""} for m, e in _graph().items()}
    graph[""] = set()  # the package itself: its lazy attributes import the API's modules
    for m in graph:
        graph[m].discard("")
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(t):] + [t]))
            if t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_the_codec_runs_without_loading_torch():
    code = ("import sys, numpy as np, hybridcodec\n"
            "from hybridcodec import cli, pillow, batch, benchmark\n"
            "from hybridcodec.training import config, prefetch\n"
            "img = np.zeros((16, 16, 3), np.uint8)\n"
            "hybridcodec.decode(hybridcodec.encode(img, base='jpeg', model='baseline'))\n"
            "assert 'torch' not in sys.modules, 'torch was loaded'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]


def test_the_readme_layout_names_every_module():
    import re

    text = (PKG.parent / "README.md").read_text()
    table = text[text.index("## Layout"):text.index("## Training")]
    named = set()
    for row in re.findall(r"^\| (.*?) \|", table, re.M):
        folder = ""
        for cell in re.findall(r"`([^`]+)`", row):
            if "/" in cell:
                folder, _, cell = cell.rpartition("/")
            named.add(f"{folder}/{cell}")
    missing = sorted(str(p.relative_to(PKG.parent)) for p in PKG.rglob("*.py")
                     if p.name != "__init__.py" and "weights" not in p.parts
                     and str(p.relative_to(PKG.parent)) not in named)
    assert not missing, f"modules missing from the README's layout table: {missing}"


def test_no_branch_on_a_base_codec_id():
    """Issue 24 item 3: what differs between base codecs is a method of their class."""
    found = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                ids = [s for s in sides if (isinstance(s, ast.Attribute) and s.attr == "id")
                       or (isinstance(s, ast.Name) and s.id in ("base_id", "codec_id"))]
                if ids and any(isinstance(s, ast.Constant) and isinstance(s.value, int)
                               for s in sides):
                    found.append(f"{name}:{node.lineno}")
    assert not found, found
