"""The plugin system: hooks, lookup, errors naming plugins, the CLI listing."""

import importlib.metadata
import json
import subprocess
import sys
import types

import pytest

import skae
from skae import PluginError, PluginWarning, hookimpl, plugins
from skae.hookspecs import hookspec
from skae.regularizers import Regularizer


def test_builtins_register_through_the_hooks():
    assert {"l1", "l2", "l1_activity", "lp_activity", "kl_sparsity", "topk", "contractive"} <= set(
        plugins.available("regularizer")
    )
    assert {"gaussian", "masking", "salt_and_pepper"} <= set(plugins.available("corruption"))
    assert {"concat", "embedding", "film", "cross_attention"} <= set(plugins.available("conditioner"))
    assert plugins.get("regularizer", "l2").distribution == "skae"


def test_every_hook_is_documented():
    for name in plugins.KINDS.values():
        spec = getattr(skae.hookspecs, name)
        assert spec.__doc__ and "register" in spec.__doc__


def test_typo_lists_available_names():
    with pytest.raises(ValueError, match=r"Unknown regularizer 'l3'\. Did you mean 'l[12]'.*Available regularizers: .*contractive"):
        plugins.get("regularizer", "l3")


class _Plugin:
    class Zero(Regularizer):
        def penalty(self, ctx):
            return ctx.codes.sum() * 0

    @hookimpl
    def skae_register_regularizers(self, register):
        register("zero_penalty", self.Zero)


def test_runtime_plugin_is_found_then_gone(small_X):
    plugin = _Plugin()
    plugins.register(plugin, name="test-zero")
    try:
        assert "zero_penalty" in plugins.available("regularizer")
        row = next(r for r in plugins.describe() if r["plugin"] == "test-zero")
        assert row["regularizer"] == ["zero_penalty"]
        skae.AutoEncoder(regularizers=["zero_penalty"], max_epochs=2, hidden_dims=(4,)).fit(small_X)
    finally:
        plugins.unregister(plugin)
    assert "zero_penalty" not in plugins.available("regularizer")


def test_duplicate_name_names_both_plugins():
    class Dup:
        @hookimpl
        def skae_register_regularizers(self, register):
            register("l2", Regularizer)

    plugin = Dup()
    plugins.register(plugin, name="dup-plugin")
    try:
        with pytest.raises(PluginError, match=r"'l2' is registered twice.*distribution 'skae'.*dup-plugin"):
            plugins.available("regularizer")
    finally:
        plugins.unregister(plugin)


def test_hook_that_raises_names_the_plugin():
    class Broken:
        @hookimpl
        def skae_register_corruptions(self, register):
            raise RuntimeError("boom")

    plugin = Broken()
    plugins.register(plugin, name="broken-plugin")
    try:
        with pytest.raises(PluginError, match="broken-plugin.*boom"):
            plugins.available("corruption")
    finally:
        plugins.unregister(plugin)


def test_hook_typo_is_caught_at_registration():
    class Typo:
        @hookimpl
        def skae_register_regularisers(self, register):  # British spelling: no such hook
            pass

    with pytest.raises(Exception, match="unknown hook"):
        plugins.register(Typo(), name="typo-plugin")
    assert not plugins.get_plugin_manager().has_plugin("typo-plugin")


def test_broken_entry_point_warns_with_distribution_and_skae_still_works(monkeypatch):
    dist = types.SimpleNamespace(name="skae-broken-dist")
    ep = importlib.metadata.EntryPoint(name="broken", value="skae_no_such_module_xyz", group="skae")
    ep = types.SimpleNamespace(name=ep.name, load=ep.load, dist=dist)
    monkeypatch.setattr(plugins._manager.importlib.metadata, "entry_points", lambda group: [ep])
    pm = plugins.get_plugin_manager()
    with pytest.warns(PluginWarning, match="skae-broken-dist"):
        plugins._manager._load_entry_points(pm)
    assert "l2" in plugins.available("regularizer")


def test_disable_autoload_and_cli_listing():
    env_code = (
        "import os; os.environ['SKAE_DISABLE_PLUGIN_AUTOLOAD']='1';"
        "from skae import plugins; print(sorted({r['distribution'] for r in plugins.describe()}))"
    )
    out = subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['skae']"
    out = subprocess.run(
        [sys.executable, "-m", "skae", "plugins", "--json"], capture_output=True, text=True, check=True
    ).stdout
    rows = json.loads(out)
    assert any("contractive" in r["regularizers"] for r in rows)
    assert hookspec.project_name == "skae"
