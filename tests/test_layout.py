"""The package reads as stages in order: no module imports from a later stage, and no import cycle.

Stages, first to last (docs/architecture.md): the root utilities every stage uses, ``media``,
``data`` and ``encoders``, ``features``, ``models``, ``detector`` (inference), ``training``,
``benchmark``, ``cli``. Every import counts, also one inside a function.
"""

import ast
from pathlib import Path

import emoboost

PACKAGE = Path(emoboost.__file__).parent
ROOT_UTILITIES = {"errors", "config", "files", "metrics", "calibration", "text", "timing"}
STAGES = {"media": 1, "data": 2, "encoders": 2, "features": 3, "models": 4, "detector": 5, "training": 6}
STAGES |= {"benchmark": 7, "cli": 8}
MAX_ROOT_MODULES = 10


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The emoboost modules ``path`` imports (``from emoboost.x import y`` counts ``emoboost.x.y`` when it is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("emoboost")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("emoboost"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
    return found - {"emoboost"}


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _stage(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    if part in ROOT_UTILITIES:
        return 0
    assert part in STAGES, f"{module}: not in a stage (add it to a stage subpackage or to the root utilities)"
    return STAGES[part]


def test_every_module_belongs_to_a_stage_and_the_root_is_small():
    root_modules = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert len(root_modules) <= MAX_ROOT_MODULES, root_modules
    assert {Path(m).stem for m in root_modules} <= ROOT_UTILITIES
    for name in MODULES:
        if name != "emoboost":
            _stage(name)


def test_no_module_imports_from_a_later_stage():
    upward = [
        f"{module} (stage {_stage(module)}) imports {target} (stage {_stage(target)})"
        for module, targets in GRAPH.items()
        if module != "emoboost"  # the package's lazy `from emoboost import Detector`
        for target in targets
        if target in MODULES and target != "emoboost" and _stage(target) > _stage(module)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    state: dict[str, int] = {}  # 1 on the path, 2 done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH.get(module, ())):
            if target not in MODULES or target == module:
                continue
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state and module != "emoboost":
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_every_subpackage_is_built_into_the_wheel():
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    subpackages = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    assert listed == subpackages | {"emoboost.configs"}


def test_scripts_import_nothing_from_tests_and_hold_no_programs_in_strings():
    for script in sorted((PACKAGE.parent / "scripts").glob("*.py")):
        text = script.read_text()
        tree = ast.parse(text, str(script))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value != "-c", f"{script.name}: runs a program held in a string"
        assert '"tests"' not in text and '/ "tests"' not in text, f"{script.name}: reaches into tests/"
