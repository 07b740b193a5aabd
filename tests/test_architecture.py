"""The code's shape: shared defaults written once, no import cycles, modules that stay small."""

import ast
import dataclasses
import inspect
import pathlib

import pytest

from skae import VAE, AutoEncoder, ConditionalVAE
from skae._params import DEFAULTS, FAMILY_DEFAULTS, SHARED_CONSTRAINTS

PACKAGE = pathlib.Path(__file__).parent.parent / "skae"


@pytest.mark.parametrize("cls", [AutoEncoder, VAE, ConditionalVAE], ids=lambda c: c.__name__)
def test_signatures_agree_with_the_shared_defaults(cls):
    signature = inspect.signature(cls.__init__).parameters
    for field in dataclasses.fields(DEFAULTS):
        assert field.name in signature, f"{cls.__name__} lacks the shared parameter {field.name!r}"
        expected = FAMILY_DEFAULTS.get(cls.__name__, {}).get(field.name, getattr(DEFAULTS, field.name))
        assert signature[field.name].default == expected, field.name
        assert field.name in cls._parameter_constraints, field.name
    assert set(SHARED_CONSTRAINTS) == {f.name for f in dataclasses.fields(DEFAULTS)}
    assert set(cls()._get_param_names()) <= set(cls._parameter_constraints)


def test_vae_family_shares_its_own_defaults():
    vae, cvae = inspect.signature(VAE.__init__).parameters, inspect.signature(ConditionalVAE.__init__).parameters
    for name in ("likelihood", "sigma0", "learn_sigma0", "beta", "n_mc_samples"):
        assert vae[name].default == cvae[name].default, name


def _module_imports():
    """skae module -> skae modules it imports at module level (not inside functions)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    target = f"{base}.{node.module}" if node.module else base
                else:
                    target = node.module or ""
                if target.startswith("skae"):
                    deps.add(target)
                    deps.update(f"{target}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("skae"))
        graph[name] = deps
    return {k: {d for d in v if d in graph and d != k} for k, v in graph.items()}


def test_no_import_cycles_inside_the_package():
    graph = _module_imports()
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for dep in graph[node]:
            if dep == "skae":  # submodules may import the package's public names lazily
                continue
            if state.get(dep) == "open":
                pytest.fail(f"import cycle: {' -> '.join(stack + [node, dep])}")
            if dep not in state:
                visit(dep, stack + [node])
        state[node] = "done"

    for module in graph:
        if module not in state:
            visit(module, [])


def test_modules_and_classes_stay_small():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert text.count("\n") <= 450, f"{path.name} has {text.count(chr(10))} lines (limit 450)"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = node.end_lineno - node.lineno + 1
                assert size <= 300, f"{path.name}: class {node.name} has {size} lines (limit 300)"


@pytest.mark.parametrize("cls", [AutoEncoder, VAE, ConditionalVAE], ids=lambda c: c.__name__)
def test_every_parameter_is_documented_by_its_own_class(cls):
    doc = cls.__doc__
    for name in inspect.signature(cls.__init__).parameters:
        if name in ("self", "kwargs"):
            continue
        assert f"\n    {name} : " in doc, f"{cls.__name__}'s docstring does not describe {name!r}"
    assert "As in :class:" not in doc.split("Attributes")[0]
