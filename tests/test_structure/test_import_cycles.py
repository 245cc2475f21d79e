"""The package has no import cycle: no module imports a module that
(directly or through others) imports it back.

The graph is read from the source, so every module is checked, not only
those a test happens to import first. Imports inside functions count too: a
function-level import only postpones a cycle (e.g. two modules each needing
the other to finish their work).
"""
import ast
import sys
from pathlib import Path
from typing import Dict, List, Set

import qd_plugin

PACKAGE_DIR = Path(qd_plugin.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def package_modules() -> Dict[str, Path]:
    return {
        module_name(path): path
        for path in sorted(PACKAGE_DIR.rglob('*.py'))
        if '.mim' not in path.parts
    }


def import_statements(tree: ast.Module) -> List[ast.stmt]:
    """Every import statement of a module, wherever it is."""
    return [
        node for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]


def imported_modules(name: str, path: Path, modules: Dict[str, Path]
                     ) -> Set[str]:
    """The package modules ``name`` imports."""
    is_package = path.name == '__init__.py'
    targets: Set[str] = set()
    for node in import_statements(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = name.split('.')
            base = base[:len(base) - node.level + (1 if is_package else 0)]
            source = '.'.join(base + ([node.module] if node.module else []))
        else:
            source = node.module
        targets.add(source)
        # `from package import submodule` imports that submodule too.
        targets.update(f'{source}.{alias.name}' for alias in node.names)
    return {target for target in targets if target in modules} - {name}


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph() -> Dict[str, Set[str]]:
    modules = package_modules()
    return {
        name: imported_modules(name, path, modules)
        for name, path in modules.items()
    }


def test_the_checker_finds_a_cycle(tmp_path, monkeypatch):
    package = tmp_path / 'qd_plugin'
    (package / 'deploy').mkdir(parents=True)
    (package / '__init__.py').write_text('')
    (package / 'deploy' / '__init__.py').write_text('from .export import x\n')
    (package / 'deploy' / 'export.py').write_text(
        'try:\n    from .qat import y\nexcept ImportError:\n    pass\n')
    (package / 'deploy' / 'qat.py').write_text('import os\n')
    monkeypatch.setattr(sys.modules[__name__], 'PACKAGE_DIR', package)
    assert cycles(import_graph()) == []
    (package / 'deploy' / 'qat.py').write_text(
        'def f():\n    from .export import x\n')
    assert cycles(import_graph()) == [[
        'qd_plugin.deploy.export', 'qd_plugin.deploy.qat'
    ]]
    (package / 'deploy' / 'qat.py').write_text(
        'from qd_plugin.deploy import y\n')
    assert cycles(import_graph()) == [[
        'qd_plugin.deploy', 'qd_plugin.deploy.export', 'qd_plugin.deploy.qat'
    ]]


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert len(graph) > 50  # every module was read
    assert cycles(graph) == []
