"""The shape of the code (issue 25): no import cycle, manim's private API in one adapter, architecture
names compared in at most a few places, render.py's main short, every option in a --help section,
and the registries that let a new output or architecture be one module and one line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import render

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("attncore", "scenes")


def modules() -> dict[str, Path]:
    """Every module of our packages by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path], typing: bool = True) -> set[str]:
    """The modules of ours that `name` imports: at its top, inside its functions and, with `typing`, for
    the type checker alone (under `if TYPE_CHECKING:`: such an import never runs, but it is an arrow of the
    design all the same); a module outside a package imports the package too (its __init__ runs first)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only and not typing:
            continue
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets.add(base)
            targets |= {f"{base}.{alias.name}" for alias in node.names}
    edges = set()
    for target in targets:
        if target not in known:
            continue
        edges.add(target)
        parts = target.split(".")
        for n in range(1, len(parts)):
            ancestor = ".".join(parts[:n])
            if not (name == ancestor or name.startswith(ancestor + ".")):
                edges.add(ancestor)
    return edges - {name}


def graph_of(known: dict[str, Path]) -> dict[str, set[str]]:
    return {name: imported(name, path, known) for name, path in known.items()}


def test_the_import_graph_has_no_cycle():
    """No circle of imports, not even through an import for the type checker alone."""
    known = modules()
    graph = graph_of(known)
    assert graph["scenes.outputs"] >= {"scenes.outputs.video", "scenes.outputs.base"}  # the walk sees imports
    assert "scenes.video" in graph["scenes.production.pool"]  # function-level ones too
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_a_cycle_is_found_when_there_is_one(tmp_path):
    """The walk above on a hand-made pair that imports each other, inside a function for one."""
    (tmp_path / "a.py").write_text("from b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    import a\n")
    (tmp_path / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\n")
    known = {"a": tmp_path / "a.py", "b": tmp_path / "b.py", "c": tmp_path / "c.py"}
    assert imported("a", known["a"], known) == {"b"} and imported("b", known["b"], known) == {"a"}
    assert imported("c", known["c"], known, typing=False) == set()
    assert imported("c", known["c"], known) == {"a"}  # the type checker's import is an arrow too


# The floors of the house, from the ground up: a module imports only modules of its own floor or below
# (the first prefix that matches places a module; render.py stands above them all and nothing imports it).
FLOORS = (
    ("attncore",),  # computes: numpy, no manim
    ("scenes",),  # the explainer: the View, the stages, their beats and pictures, the manim adapter
    ("scenes.production",),  # how the outputs are made: renders, cache, pool, media, voice, lifecycle
    ("scenes.outputs",),  # what a render writes: the registry of outputs
    ("scenes.course",),  # a course: many lectures as one batch
    ("scenes.live",),  # the live classroom page: the outputs and the course below it, served
)


def floor(name: str) -> int:
    matches = [(len(prefix), i) for i, floors in enumerate(FLOORS) for prefix in floors
               if name == prefix or name.startswith(prefix + ".")]
    return max(matches)[1]


def test_every_arrow_points_down():
    """attncore imports nothing of scenes; the explainer nothing of the production, the outputs or the
    course; the production nothing of the outputs or the course; the outputs nothing of the course."""
    known = modules()
    up = sorted((name, target) for name, targets in graph_of(known).items() for target in targets
                if floor(target) > floor(name))
    assert not up, "arrows that run back up: " + ", ".join(f"{a} -> {b}" for a, b in up)
    assert floor("scenes.manim_adapter") == 1 and floor("scenes.production.pool") == 2  # the floors are read


def module_map() -> str:
    """The module map of docs/architecture.md: the first code block after its heading."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return text.split("## The module map", 1)[1].split("```", 2)[1]


def sections(block: str) -> dict[str, str]:
    """Each folder of the map ("scenes/", "scenes/stages/") -> the lines under it (its entry's included)."""
    found: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        indent = len(line) - len(line.lstrip())
        if not line.strip():
            continue
        first = line.split()[0]
        if indent <= 12 and not first.startswith("#"):  # an entry (deeper lines continue the one above)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            if first.endswith("/"):
                stack.append((indent, (stack[-1][1] if stack else "") + first))
        for _, folder in stack:
            found[folder] = found.get(folder, "") + line + "\n"
    return found


def test_every_module_is_in_the_module_map():
    """Each module under attncore/ and scenes/ is named in docs/architecture.md's module map, under its
    folder (a package's __init__.py by its folder's entry)."""
    mapped = sections(module_map())
    missing = []
    for path in modules().values():
        relative = path.relative_to(ROOT)
        folder = relative.parent.as_posix() + "/"
        if folder not in mapped or (path.name != "__init__.py" and not re.search(
                rf"(?<![\w/]){re.escape(path.name)}\b", mapped[folder])):
            missing.append(relative.as_posix())
    assert not missing, "not in docs/architecture.md's module map: " + ", ".join(missing)


def test_the_map_reader_finds_a_missing_module():
    block = "pkg/\n  a.py  one\n  sub/  b.py c.py\n                     d.py named in a description\n"
    mapped = sections(block)
    assert mapped["pkg/sub/"].split() == ["sub/", "b.py", "c.py", "d.py", "named", "in", "a", "description"]
    assert "a.py" in mapped["pkg/"] and "a.py" not in mapped["pkg/sub/"]


def test_manims_private_api_is_used_in_one_adapter():
    """A private attribute of a manim (or pool) object, or a patched manim name, only in
    scenes/manim_adapter.py."""
    private = re.compile(r"\.(_original_skipping_status|_processes|_concat_manifest_bytes|_create_segment_encoder|"
                         r"_validate_frame|_next_pts|_operation_error)\b|combine_files|text_mobject\.\w+ =")
    users = sorted(str(p.relative_to(ROOT)) for p in modules().values() if private.search(p.read_text(encoding="utf-8")))
    assert users == ["scenes/manim_adapter.py"]


def test_attncore_compares_architecture_names_at_most_three_times():
    names = ("bert", "gpt2", "llama", "qwen2", "distilbert", "roberta")
    compare = re.compile(r"""(==|!=|\bin)\s*\(?\s*["'](%s)["']""" % "|".join(names))
    found = [(p.name, line) for p in (ROOT / "attncore").rglob("*.py")
             for line in p.read_text(encoding="utf-8").splitlines() if compare.search(line)]
    assert len(found) <= 3, found


def test_renders_main_is_at_most_sixty_lines():
    source = (ROOT / "render.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    [main] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert main.end_lineno - main.lineno + 1 <= 60


def test_every_option_is_in_one_help_section():
    options = [p for p in render.main.params]
    grouped = [name for names in render.GROUPS.values() for name in names]
    assert len(grouped) == len(set(grouped))
    for p in options:
        assert len(set(p.opts) & set(grouped)) == 1, p.opts
    assert {"--help"} <= set(grouped)
    from click.testing import CliRunner

    shown = CliRunner().invoke(render.main, ["--help"]).output
    headings = [line for line in shown.splitlines() if line and not line.startswith(" ") and line.endswith(":")]
    assert headings == [f"{g}:" for g in render.GROUPS]
    for p in options:
        assert p.opts[-1] in shown


def test_the_registries_name_one_module_each():
    """An output and a model architecture are each a module with one registration."""
    from attncore.architectures import ARCHITECTURES
    from scenes.outputs import OUTPUTS

    for name, output in OUTPUTS.items():
        module = output.make.__module__
        assert module.startswith("scenes.outputs.") and output.name == name
    assert len({o.make.__module__ for o in OUTPUTS.values()}) == len(OUTPUTS)
    registering = {p.stem for p in (ROOT / "scenes" / "outputs").glob("*.py") if "\nOUTPUT = " in p.read_text("utf-8")}
    assert {o.make.__module__.rpartition(".")[2] for o in OUTPUTS.values()} == registering  # each module that
    # declares an OUTPUT is registered (the registry's names are nowhere else written down)
    offered = {opt for p in render.main.params for opt in p.opts}
    assert {o.option for o in OUTPUTS.values()} <= offered  # render.py's options come from the registry
    assert {"bert", "gpt2"} <= set(ARCHITECTURES)
    for name, architecture in ARCHITECTURES.items():
        assert type(architecture).__module__.startswith("attncore.architectures.")


# Each module one job (issue 35): the lengths past which a module is doing several
MODULE_LINES, STAGE_LINES, EXPLAIN_LINES = 400, 250, 60
CATALOGUES = ("scenes.strings.", "attncore.strings.")  # a language's every string: long by nature


def explain_lengths(source: str) -> dict[str, int]:
    """Each class's `explain` method in `source` -> its length in lines (decorators and docstring in)."""
    return {cls.name: fn.end_lineno - min([fn.lineno, *(d.lineno for d in fn.decorator_list)]) + 1
            for cls in ast.walk(ast.parse(source)) if isinstance(cls, ast.ClassDef)
            for fn in cls.body if isinstance(fn, ast.FunctionDef) and fn.name == "explain"}


def test_explain_lengths_are_measured():
    source = "class A:\n    def explain(self, start):\n        x = 1\n\n        yield x\n\n    def other(self):\n        pass\n"
    assert explain_lengths(source) == {"A": 4}
    assert explain_lengths("def explain():\n    pass\n") == {}  # a function outside a class is no stage's


def test_modules_stages_and_explains_stay_short():
    """No module over about 400 lines outside the catalogues, no stage's module over about 250, no stage's
    `explain` over about 60: a longer one holds several jobs (its pictures go to scenes/parts/, its beats
    to generators of their own)."""
    long = []
    for name, path in modules().items():
        source = path.read_text(encoding="utf-8")
        limit = STAGE_LINES if name.startswith("scenes.stages.") else MODULE_LINES
        if not name.startswith(CATALOGUES) and len(source.splitlines()) > limit:
            long.append(f"{name}: {len(source.splitlines())} lines (at most {limit})")
        if name.startswith("scenes.stages."):
            long += [f"{name}.{cls}.explain: {n} lines (at most {EXPLAIN_LINES})"
                     for cls, n in explain_lengths(source).items() if n > EXPLAIN_LINES]
    assert not long, "too long: " + "; ".join(long)
    assert explain_lengths((ROOT / "scenes" / "stages" / "heads.py").read_text(encoding="utf-8"))  # the walk finds them


def test_a_part_imports_no_stage():
    """scenes/parts/ holds the stages' pictures: a stage mixes a part in, never the other way round (nor does
    anything else reach into a stage's module but the stages' registry)."""
    known = modules()
    graph = graph_of(known)
    into_stages = sorted((name, target) for name, targets in graph.items() for target in targets
                         if target.startswith("scenes.stages.") and not name.startswith("scenes.stages"))
    assert not into_stages, into_stages
    assert any(t.startswith("scenes.parts.") for t in graph["scenes.stages.heads"])
