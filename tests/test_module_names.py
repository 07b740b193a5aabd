"""Imports and files made for the flat layout of skae 0.1 keep working after the move into subpackages."""

import importlib
import pathlib
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris

import skae

DATA = pathlib.Path(__file__).parent / "data"
SHORT = sorted(skae.MODULE_NAMES.items())
FORMER = sorted(skae._FORMER_NAMES.items())


@pytest.mark.parametrize(("short", "home"), SHORT + FORMER, ids=[s for s, _ in SHORT + FORMER])
def test_a_short_or_former_name_imports_the_module_where_the_code_lives(short, home):
    module = importlib.import_module(f"skae.{short}")
    assert module is importlib.import_module(f"skae.{home}")
    assert module.__name__ == module.__spec__.name == f"skae.{home}"
    leaf = short.rsplit(".", 1)[-1]
    parent = importlib.import_module(f"skae.{short.rpartition('.')[0]}" if "." in short else "skae")
    assert getattr(parent, leaf) is module  # `from skae import tabular` and attribute access agree


def test_every_moved_module_is_reachable_by_its_former_name():
    # every module of the flat layout answers by its old name, and no two old names share a home
    import skae.impute  # noqa: F401
    homes = [home for _, home in SHORT + FORMER]
    assert len(set(homes)) == len(homes)
    package = pathlib.Path(skae.__file__).parent
    modules = {
        ".".join(p.relative_to(package).with_suffix("").parts).removesuffix(".__init__")
        for p in package.rglob("*.py")
        if p.parent != package and p.name != "__init__.py"
    }
    # skae.impute and skae.plugins became the packages of the same name, which give their public names
    assert modules - set(homes) == {"impute._imputer", "plugins._manager"}
    assert skae.impute.AutoEncoderImputer is importlib.import_module("skae.impute._imputer").AutoEncoderImputer
    assert skae.plugins.Registration is importlib.import_module("skae.plugins._manager").Registration


def test_pickle_names_of_the_flat_layout_resolve():
    for old, new, name in [
        ("skae.autoencoder", "skae.estimators._autoencoder", "AutoEncoder"),
        ("skae._fitted", "skae.model._fitted", "FittedModel"),
        ("skae.tabular", "skae.tables._layout", "ColumnLayout"),
        ("skae._scaling", "skae.tables._scaling", "Scaler"),
        ("skae._ensemble_model", "skae.detection._scores", "FittedEnsemble"),
        ("skae.impute", "skae.impute._imputer", "AutoEncoderImputer"),
    ]:
        stream = b"\x80\x04c" + f"{old}\n{name}\n".encode() + b"."
        assert pickle.loads(stream) is getattr(importlib.import_module(new), name)


def test_a_short_name_of_a_submodule_is_not_imported_twice():
    # skae.regularizers.builtin would otherwise be found on its package's path and registered again
    code = (
        "import sys, skae.regularizers.builtin, skae.plugins.regularizers.builtin as b; "
        "from skae import plugins; plugins.available('regularizer'); "
        "print(sum(m is b for m in sys.modules.values()), len([n for n in sys.modules if n.endswith('builtin')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["2", "3"]  # one module under two names; the conditioning built-ins are the third


def test_a_model_file_written_before_the_move_loads_and_encodes_the_same():
    X = load_iris().data
    model = skae.load(DATA / "autoencoder_flat_layout.skae")
    np.testing.assert_allclose(model.transform(X[:10]), np.load(DATA / "autoencoder_flat_layout_codes.npy"), rtol=1e-6)


def test_a_pickle_made_before_the_move_loads_and_encodes_the_same():
    X = load_iris().data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns when its own version differs from the pickle's
        model = pickle.loads((DATA / "autoencoder_flat_layout.pkl").read_bytes())
    assert type(model) is skae.AutoEncoder
    np.testing.assert_allclose(model.transform(X[:10]), np.load(DATA / "autoencoder_flat_layout_codes.npy"), rtol=1e-6)


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_short_name_is_an_attribute_of_skae_before_it_is_imported():
    assert _fresh("import skae; print(skae.hookspecs.__name__, skae.tabular.ColumnLayout.__name__)") == (
        "skae.plugins.hookspecs ColumnLayout"
    )


def test_reloading_skae_keeps_one_finder_of_short_names():
    code = ("import importlib, sys, skae; importlib.reload(skae); importlib.reload(skae); "
            "print(sum(type(f).__qualname__ == '_ModuleNames' for f in sys.meta_path))")
    assert _fresh(code) == "1"


def test_python_m_with_a_short_name_runs_the_home_module():
    done = subprocess.run([sys.executable, "-m", "skae.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage: skae" in done.stdout
