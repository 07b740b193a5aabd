"""The code's shape: shared defaults written once, layers that import downward, folders and modules that stay small."""

import ast
import dataclasses
import inspect
import pathlib

import pytest

from skae import VAE, AutoEncoder, ConditionalVAE
from skae.training._params import DEFAULTS, FAMILY_DEFAULTS, SHARED_CONSTRAINTS

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


def test_import_contracts_hold():
    """The layers and acyclic-siblings contracts of pyproject.toml, imports inside functions included."""
    from importlinter import configuration
    from importlinter.application.use_cases import lint_imports

    configuration.configure()
    config = str(PACKAGE.parent / "pyproject.toml")
    assert lint_imports(config_filename=config, cache_dir=None, no_logo=True), "a contract is broken (printed above)"


def test_the_layers_contract_names_every_subpackage():
    import tomllib

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert subpackages <= named, f"subpackages outside the layers contract: {sorted(subpackages - named)}"


def test_folders_stay_small_enough_to_read():
    top = [p for p in PACKAGE.iterdir() if p.name != "__pycache__"]
    assert len(top) <= 12, f"skae/ holds {len(top)} entries (limit 12): {sorted(p.name for p in top)}"
    for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if (p / "__init__.py").exists())]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= 12, f"{folder.relative_to(PACKAGE.parent)} holds {len(modules)} modules (limit 12)"
        assert (folder / "__init__.py").read_text().lstrip().startswith('"""'), f"{folder.name} has no docstring"


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
