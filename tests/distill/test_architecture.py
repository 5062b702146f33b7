"""distill/ as layered packages (ARCHITECTURE.md): every import points down the layer list or stays in its
package, no module imports inside functions except the plotting library, and the product never imports the
fixture tooling."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAYERS = ["domain", "runs", "networks", "sampling", "teacher", "distillation", "export", "evaluation"]
LAZY_ALLOWED = {"matplotlib", "matplotlib.pyplot"}  # the plots set the headless backend before pyplot loads


def _modules():
    return sorted((ROOT / "distill").rglob("*.py"))


def _package(path: pathlib.Path) -> str | None:
    parts = path.relative_to(ROOT / "distill").parts
    return parts[0] if len(parts) > 1 else None


def _imported_packages(path: pathlib.Path) -> set[str]:
    """The distill packages a module imports from (relative or absolute imports)."""
    return _packages_in(path.read_text(), path.relative_to(ROOT).with_suffix("").parts[:-1])


def _packages_in(source: str, own: tuple[str, ...]) -> set[str]:
    """own: the importing module's package, e.g. ("distill", "domain")."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = own[: len(own) - node.level + 1]
                target = (*base, *(node.module.split(".") if node.module else ()))
            else:
                target = tuple((node.module or "").split("."))
            if target[0] == "distill" and len(target) > 1:
                out.add(target[1])
            if target[0] == "tools":
                out.add("tools")
        elif isinstance(node, ast.Import):
            for a in node.names:
                target = a.name.split(".")
                if target[0] == "distill" and len(target) > 1:
                    out.add(target[1])
                if target[0] == "tools":
                    out.add("tools")
    return out


@pytest.mark.parametrize("path", [p for p in _modules() if _package(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path):
    pkg = _package(path)
    for other in _imported_packages(path) - {pkg}:
        assert other in LAYERS, f"{path.name} imports {other}, which is not a distill layer"
        assert LAYERS.index(other) < LAYERS.index(pkg), f"{pkg}/{path.name} imports upward, from {other}"


def test_the_layer_check_sees_upward_imports():
    # the checker itself: relative and absolute imports of a higher layer, and of the fixture tooling, are found
    own = ("distill", "domain")
    assert _packages_in("from ..evaluation.metrics import FeatureNet\n", own) == {"evaluation"}
    assert _packages_in("import distill.export.export as e\nfrom tools.fixtures import X\n", own) == {"export", "tools"}
    assert _packages_in("from .grammar import Meaning\n", own) == {"domain"}


def test_no_imports_inside_functions():
    found = []
    for path in _modules():
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Import) and all(a.name in LAZY_ALLOWED for a in node.names):
                        continue
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "imports inside functions:\n" + "\n".join(found)


def test_the_product_does_not_import_the_fixture_tooling():
    assert not [p for p in _modules() if "tools" in _imported_packages(p)]
