"""Model files: what a save writes (parameters, modes, links) and what a load refuses before it costs anything."""

import os
import stat

import numpy as np
import pandas as pd
import pytest
import torch

import skae
from skae import AutoEncoder, AutoEncoderOutlierDetector, ModelFileError, persistence

FAST = dict(latent_dim=2, hidden_dims=(16,), max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(80, 5))


def _forge(path, edit):
    record = torch.load(path, weights_only=True)
    edit(record["state"])
    record["sha256"] = persistence._digest({"class": record["class"], "state": record["state"]})
    torch.save(record, path)


def test_a_detector_saves_the_parameters_it_was_fitted_with(X, tmp_path):
    det = AutoEncoderOutlierDetector(AutoEncoder(**FAST), random_state=0).fit(X)
    det.set_params(trim_fraction=0.4, contamination=0.2)  # a new threshold is kept; the refit setting is not
    skae.save(det, tmp_path / "d.skae")
    back = skae.load(tmp_path / "d.skae")
    assert back.trim_fraction == 0.0 and back.contamination == 0.2
    np.testing.assert_array_equal(back.predict(X), det.predict(X))


def test_a_threshold_setting_is_validated_where_it_is_used(X, tmp_path):
    det = AutoEncoderOutlierDetector(n_estimators=2, random_state=0).fit(X)
    det.set_params(contamination=0.7)
    with pytest.raises(ValueError, match="'contamination' parameter of AutoEncoderOutlierDetector must be"):
        det.predict(X)
    with pytest.raises(ValueError, match="'contamination' parameter"):
        skae.save(det, tmp_path / "d.skae")
    det.set_params(contamination="bogus")
    with pytest.raises(ValueError, match="'contamination' parameter"):
        det.threshold_  # noqa: B018 - the property validates


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_saves_keep_the_umask_mode_an_existing_files_mode_and_symbolic_links(X, tmp_path):
    ae = AutoEncoder(**FAST).fit(X)
    old = os.umask(0o022)
    try:
        skae.save(ae, tmp_path / "new.skae")
        assert stat.S_IMODE(os.stat(tmp_path / "new.skae").st_mode) == 0o644
        existing = tmp_path / "shared.skae"
        existing.write_bytes(b"old")
        os.chmod(existing, 0o664)
        skae.save(ae, existing)
        assert stat.S_IMODE(os.stat(existing).st_mode) == 0o664
        link = tmp_path / "current.skae"
        link.symlink_to(existing)
        skae.save(ae, link)
        assert link.is_symlink() and skae.load(link).n_features_in_ == 5
    finally:
        os.umask(old)


def test_a_forged_size_is_refused_before_anything_is_allocated(X, tmp_path):
    ae = AutoEncoder(**FAST).fit(X)
    skae.save(ae, tmp_path / "m.skae")
    _forge(tmp_path / "m.skae", lambda s: s["params"].update(hidden_dims=[20_000_000]))
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ModelFileError, match="weights do not match its declared parameters"):
        skae.load(tmp_path / "m.skae")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB: no 80 GB-weight layer


def test_every_field_of_a_column_layout_is_checked_at_load(tmp_path):
    frame = pd.DataFrame({"kind": np.resize(["a", "b"], 40), "v": np.arange(40.0)})
    ae = AutoEncoder(**FAST).fit(frame)
    skae.save(ae, tmp_path / "t.skae")
    edits = {
        "unknown kind": lambda s: s["column_layout"]["kinds"].__setitem__(0, "mystery"),
        "categories of a number": lambda s: s["column_layout"]["categories"].__setitem__(1, ["x"]),
        "no categories": lambda s: s["column_layout"]["categories"].__setitem__(0, []),
        "names": lambda s: s["column_layout"]["names"].__setitem__(1, "kind"),
        "short": lambda s: s["column_layout"]["dtypes"].pop(),
    }
    for what, edit in edits.items():
        path = tmp_path / f"{what}.skae"
        path.write_bytes((tmp_path / "t.skae").read_bytes())
        _forge(path, edit)
        with pytest.raises(ModelFileError, match="column layout"):
            skae.load(path)


def test_tuple_parameters_load_as_tuples_so_the_repr_shows_only_what_was_set(X, tmp_path):
    ae = AutoEncoder(hidden_dims=(8, 4), max_epochs=2, random_state=0).fit(X)
    skae.save(ae, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    assert loaded.hidden_dims == (8, 4) and isinstance(loaded.hidden_dims, tuple)
    assert repr(loaded) == repr(ae)
