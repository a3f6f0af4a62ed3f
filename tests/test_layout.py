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


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that running `name` may import: at its top and inside its functions; a
    module outside a package imports the package too (its __init__ runs first)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for n in ast.walk(block)}  # imports for the type checker alone never run
    for node in ast.walk(tree):
        if id(node) in typing_only:
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


def test_the_import_graph_has_no_cycle():
    known = modules()
    graph = {name: imported(name, path, known) for name, path in known.items()}
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
    assert imported("c", known["c"], known) == set()


def test_manims_private_api_is_used_in_one_adapter():
    """A private attribute of a manim (or pool) object, or a patched manim name, only in
    scenes/production/manim_adapter.py."""
    private = re.compile(r"\.(_original_skipping_status|_processes|_concat_manifest_bytes|_create_segment_encoder|"
                         r"_validate_frame|_next_pts|_operation_error)\b|combine_files|text_mobject\.\w+ =")
    users = sorted(str(p.relative_to(ROOT)) for p in modules().values() if private.search(p.read_text(encoding="utf-8")))
    assert users == ["scenes/production/manim_adapter.py"]


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
    assert set(OUTPUTS) == {"numbers", "handout", "explore", "stills", "script", "slides", "video"}
    offered = {opt for p in render.main.params for opt in p.opts}
    assert {o.option for o in OUTPUTS.values()} <= offered  # render.py's options come from the registry
    assert {"bert", "gpt2"} <= set(ARCHITECTURES)
    for name, architecture in ARCHITECTURES.items():
        assert type(architecture).__module__.startswith("attncore.architectures.")
