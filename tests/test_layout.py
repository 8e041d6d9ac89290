"""The shape of the package: every module has a mirrored test module, and imports only
point down the layers (data in -> model -> train / evaluate / sample -> CLI)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lnfmusic"

# Lower layers first; a module may import its own package and anything of a lower layer.
LAYERS = [
    ["lnfmusic", "lnfmusic.errors"],
    ["lnfmusic.options", "lnfmusic.progress", "lnfmusic.device"],
    ["lnfmusic.io"],
    ["lnfmusic.data", "lnfmusic.nn"],
    ["lnfmusic.flows", "lnfmusic.discrete"],
    ["lnfmusic.model", "lnfmusic.experiments"],
    ["lnfmusic.config"],
    ["lnfmusic.checkpoint"],
    ["lnfmusic.evaluate", "lnfmusic.sample"],
    ["lnfmusic.train"],
    ["lnfmusic.cli"],
    ["lnfmusic.__main__"],
]


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def group(name: str) -> str:
    """The layer entry a dotted module name belongs to (its longest matching prefix)."""
    best = ""
    for layer in LAYERS:
        for entry in layer:
            if (name == entry or name.startswith(entry + ".")) and len(entry) > len(best):
                best = entry
    return best


def rank(entry: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if entry in layer)


def imports_of(path: Path) -> set[str]:
    """Every ``lnfmusic`` module imported anywhere in the file (lazy imports included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "lnfmusic"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "lnfmusic":  # `from lnfmusic import train` names a module too
                out |= {f"lnfmusic.{a.name}" for a in node.names if a.name != "__version__"}
            elif node.module.split(".")[0] == "lnfmusic":
                out.add(node.module)
    return out


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path: Path) -> None:
    me = group(dotted(path))
    assert me, f"{dotted(path)} is in no layer of tests/test_layout.py"
    upward = [
        name
        for name in imports_of(path)
        if group(name) != me and group(name) != "lnfmusic" and rank(group(name)) >= rank(me)
    ]
    assert not upward, f"{dotted(path)} (layer {me}) imports {upward} from its layer or above"


def mirror(path: Path) -> Path:
    rel = path.relative_to(PACKAGE)
    return ROOT / "tests" / rel.parent / f"test_{rel.stem}.py"


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if p.stem not in ("__init__", "__main__")],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_module_has_a_mirrored_test_module(path: Path) -> None:
    assert mirror(path).is_file(), (
        f"{path.relative_to(ROOT)} has no {mirror(path).relative_to(ROOT)}"
    )


def test_the_layer_check_can_fail(tmp_path: Path) -> None:
    """A flow importing the app config would be flagged."""
    bad = tmp_path / "bad.py"
    bad.write_text("from lnfmusic.config import RunConfig\n")
    names = imports_of(bad)
    assert names == {"lnfmusic.config"}
    assert rank(group("lnfmusic.config")) >= rank(group("lnfmusic.flows.prior"))
