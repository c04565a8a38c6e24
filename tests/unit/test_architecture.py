"""castkit's structure holds: layers import only downwards (import-linter's contract, and an
acyclic module graph counting imports inside functions), no dead code (pyflakes), a light
``import castkit``, every package in the wheel, and cache keys that survive moving code."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "castkit"


def _module_name(path: Path, root: Path = REPO) -> str:
    name = ".".join(path.relative_to(root).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _imports(path: Path, modules: set[str], root: Path = REPO) -> set[str]:
    """castkit modules that ``path`` imports anywhere (at the top, in functions, under
    TYPE_CHECKING): ``from a.b import c`` counts as a.b.c where that is a module."""
    me = _module_name(path, root)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = me.split(".")
                base = base[: len(base) - node.level + (path.name == "__init__.py")]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in modules and name != me}


def _graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(path) for path in files}
    return {_module_name(path): _imports(path, modules) for path in files}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_among_castkits_modules():
    graph = _graph()
    assert len(graph) > 40  # the walk found the package
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_imports_inside_functions(tmp_path):
    mod = tmp_path / "castkit" / "x.py"
    mod.parent.mkdir()
    mod.write_text("def f():\n    from castkit.y import z\n")
    assert _imports(mod, {"castkit.x", "castkit.y"}, tmp_path) == {"castkit.y"}


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(command)], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)})


def test_layers_contract_is_kept():
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


def test_layers_contract_fails_on_an_upward_import(tmp_path):
    """The contract is not vacuous: a bottom-layer module importing the CLI, inside a
    function, breaks it."""
    shutil.copytree(PACKAGE, tmp_path / "castkit", ignore=shutil.ignore_patterns("__pycache__", "fonts"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    files = tmp_path / "castkit" / "base" / "files.py"
    files.write_text(files.read_text() + "\n\ndef _upward():\n    from castkit.cli import main\n    return main\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "castkit.base is not allowed to import castkit.cli" in result.stdout


def test_every_castkit_package_is_a_layer_of_the_contract():
    """A new package must take its place in the layers (import-linter's ``exhaustive``)."""
    text = (REPO / "pyproject.toml").read_text()
    contract = text[text.index("[[tool.importlinter.contracts]]"):]
    assert "exhaustive = true" in contract
    for child in PACKAGE.iterdir():
        if (child / "__init__.py").exists() or (child.suffix == ".py" and child.name != "__init__.py"):
            assert f'"{child.stem}' in contract or f"| {child.stem}" in contract, child.name


def test_pyflakes_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "pyflakes", "castkit", "tests", "benchmarks"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.stdout + result.stderr == ""


@pytest.mark.parametrize("argv", [["-c", "import castkit"], ["-m", "castkit", "--help"]])
def test_start_up_loads_no_heavy_or_optional_package(argv, tmp_path):
    """``import castkit`` and ``castkit --help`` stay fast: no Pillow, ffmpeg-python, YAML, or
    optional dependency is loaded for them."""
    probe = textwrap.dedent("""
        import atexit, sys
        heavy = ("PIL", "ffmpeg", "yaml", "pysubs2", "watchfiles", "dask", "distributed",
                 "opentimelineio", "numpy", "faster_whisper", "ctranslate2", "onnxruntime")
        atexit.register(lambda: print("LOADED", sorted(m for m in sys.modules
                                                      if m.split(".")[0] in heavy)))
    """)
    (tmp_path / "sitecustomize.py").write_text(probe)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    result = subprocess.run([sys.executable, *argv], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout, result.stdout


# Packages castkit may import only where a feature needs its optional extra (pyproject.toml).
_OPTIONAL = {"opentimelineio": "export", "distributed": "farm", "dask": "farm",
             "faster_whisper": "speech"}


def test_every_import_is_a_declared_dependency():
    """``pip install .`` alone must give a working castkit: every third-party package a module
    imports is one of its dependencies (or, for an optional feature, of that feature's extra).
    (numpy, imported by the activity analysis and only installed with the test extras, once
    made the README's first command fail.)"""
    import tomllib
    from importlib.metadata import packages_distributions

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}

    required = names(project["dependencies"])
    extras = {extra: names(reqs) for extra, reqs in project["optional-dependencies"].items()}
    distributions = packages_distributions()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in sys.stdlib_module_names or top == "castkit":
                    continue
                if top in _OPTIONAL:  # installed by its feature's extra (dask[distributed]...)
                    assert _OPTIONAL[top] in extras, f"no extra {_OPTIONAL[top]!r} for {top}"
                    continue
                dists = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
                assert dists & required, f"{path.relative_to(REPO)} imports {top}, not a dependency"
    # ffmpeg-python is loaded by name (media.ffmpeg.ffmpeg_module)
    assert "ffmpeg-python" in required


def test_the_wheel_ships_every_package(tmp_path):
    packages = {_module_name(p.parent) for p in PACKAGE.rglob("__init__.py")}
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                            capture_output=True, text=True)
    if result.returncode != 0 and "No matching distribution" in result.stderr:
        pytest.skip("setuptools could not be fetched to build the wheel")
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("castkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {str(Path(n).parent).replace("/", ".") for n in names if n.endswith("/__init__.py")}
    assert packages <= shipped, packages - shipped
    assert "castkit/titles/fonts/DejaVuSans.ttf" in names


# The names the cache gives a titles-only recipe's files, as castkit wrote them before its modules
# moved into packages (computed then with the same recipe, ffmpeg and cache folder): a cache
# filled by an older castkit of the same format is used as it is. (The MP4 segments' names
# changed on 2026-12-07, on purpose: their pictures are tagged BT.709 by a filter, outputs.web.)
_RECIPE = """\
outputs: [cast.dv, cast.mp4, {path: cast-ntsc.avi}]
target: pal-dv
segments:
  - title: "Keys stay"
    subtitle: "across the move"
    duration: 2
  - title: "Second card"
    duration: 1.5
    fade_in: 0.5
"""
_NAMES = [
    "card-107fac95df9536926dbe699e.png", "card-55247fd60ca62e6e048fe389.png",
    "card-6874807e57b0e9c4a50ead62.png", "card-80c5ce57dad7f08dffa42e60.png",
    "loudness-7d793c7965082183b6363054.af",
    "segment-0ec37776c5b4d1db52930487.dv", "segment-12d25810bee2ba76bc711afe.dv",
    "segment-4a8a0cb7a49649fd34244843.mp4", "segment-71327d792628a65d249da2aa.dv",
    "segment-db5ccaba9ba949516ef97cad.mp4", "segment-edc16fede9924886b446e827.dv",
]


def test_cache_keys_are_those_of_castkit_before_the_move(tmp_path):
    from castkit.builder.plan import plan_build
    from castkit.media.ffmpeg import Ffmpeg
    from castkit.plan.check import check_recipe
    from castkit.recipe.reader import read_recipe

    path = tmp_path / "cast.yaml"
    path.write_text(_RECIPE, encoding="utf-8")
    ffmpeg = Ffmpeg("ffmpeg", "test", "9.9.9")
    recipe, problems = read_recipe(path)
    planned = plan_build(check_recipe(recipe, ffmpeg, problems), ffmpeg,
                         Path("/nonexistent/castkit-key-cache"))
    names = sorted({p.name for cast in planned.casts for p in cast.uses})
    assert [n for n in names if not n.startswith(("cast-", "uses-"))] == _NAMES
