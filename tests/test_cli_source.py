"""The CLI package's sources carry no dead constants and no stray blank lines (the first was FORMATS, a copy of the
report formats that nothing read and that had already fallen behind the registered reporters)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import readiness

PACKAGE = Path(readiness.__file__).parent
CLI = sorted((PACKAGE / "cli").glob("*.py"))


@pytest.mark.parametrize("path", CLI, ids=lambda p: p.name)
def test_every_module_constant_is_used(path):
    """Used here, or by a module that imports from this one (a same-named constant elsewhere is not a use)."""
    importer = re.compile(rf"readiness\.cli\.{path.stem}\b|readiness\.cli import {path.stem}\b")
    others = "\n".join(t for p in PACKAGE.rglob("*.py") if p != path and importer.search(t := p.read_text()))
    source = path.read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    name = target.id
                    uses = len(re.findall(rf"\b{name}\b", source)) - 1 + len(re.findall(rf"\b{name}\b", others))
                    assert uses, f"{path.name}: {name} is never used"


@pytest.mark.parametrize("path", CLI, ids=lambda p: p.name)
def test_no_stray_blank_lines(path):
    source = path.read_text()
    assert "\n\n\n\n" not in source and not source.endswith("\n\n")
