"""AutoEncoderImputer on unusual inputs: placeholders per dtype, dtypes at transform, empty columns, model files."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

import skae
from skae import AutoEncoder, AutoEncoderImputer, ModelFileError, persistence

N = 40


def tiny(**params):
    return AutoEncoderImputer(AutoEncoder(max_epochs=2, hidden_dims=(8,), latent_dim=2, random_state=0), **params)


@pytest.fixture
def rng():
    return np.random.RandomState(0)


def test_a_numeric_placeholder_leaves_boolean_columns_alone(rng):
    frame = pd.DataFrame({"x": rng.normal(size=N), "flag": rng.uniform(size=N) < 0.5,
                          "nullable": pd.array(rng.uniform(size=N) < 0.5, dtype="boolean"),
                          "count": rng.randint(1, 9, N)})
    frame.loc[:5, "count"] = 0
    imputer = tiny(missing_values=0, add_indicator=True).fit(frame)
    out = imputer.transform(frame)
    pd.testing.assert_series_equal(out["flag"], frame["flag"])  # every False observed, none imputed
    pd.testing.assert_series_equal(out["nullable"], frame["nullable"])
    assert list(imputer.get_feature_names_out()[4:]) == ["missingindicator_count"]
    assert (out["missingindicator_count"] == (frame["count"] == 0)).all()
    pd.testing.assert_series_equal(out["count"][6:], frame["count"][6:])


def test_posterior_draws_of_a_row_with_nothing_observed_vary_between_draws(rng):
    X = rng.normal(size=(N, 3))
    X[0] = np.nan
    X[1:6, 1] = np.nan
    for imputer in (tiny(sample_posterior=True).fit(X),
                    tiny(sample_posterior=True, n_estimators=2, random_state=0).fit(X)):
        draws = np.array([imputer.set_params(random_state=seed).transform(X) for seed in range(5)])
        assert (draws[:, 0].std(axis=0) > 0).all()  # multiple imputation needs spread in every column
        np.testing.assert_array_equal(draws[:, 6:], np.broadcast_to(X[6:], draws[:, 6:].shape))
        np.testing.assert_array_equal(imputer.set_params(random_state=3).transform(X), draws[3])


def test_a_category_dtype_gains_the_imputed_category_it_lacks(rng):
    frame = pd.DataFrame({"kind": pd.Categorical(rng.choice(list("abc"), N), categories=list("abc")),
                          "x": rng.normal(size=N)})
    imputer = tiny().fit(frame)
    holed = frame.copy()
    holed.loc[0, "kind"] = None
    imputed = imputer.transform(holed)["kind"][0]
    other = next(c for c in "abc" if c != imputed)
    narrow = holed.assign(kind=pd.Categorical([None] + [other] * (N - 1), categories=[other]))
    out = imputer.transform(narrow)
    assert out["kind"][0] == imputed and list(out["kind"].cat.categories) == [other, imputed]
    assert (out["kind"][1:] == other).all()


def test_an_integer_column_at_transform_gets_integer_fills(rng):
    frame = pd.DataFrame({"x": rng.normal(10, 3, N), "y": rng.normal(size=N)})
    imputer = tiny().fit(frame)
    holes = np.zeros(N, dtype=bool)
    holes[:4] = True
    floats = frame.assign(x=frame["x"].mask(holes))
    ints = frame.assign(x=pd.array(np.where(holes, None, np.rint(frame["x"]).astype(int)), dtype="Int64"))
    out = imputer.transform(ints)
    assert out["x"].dtype == "Int64" and not out["x"].isna().any()
    np.testing.assert_array_equal(out["x"][holes].to_numpy(int), np.rint(imputer.transform(floats)["x"][holes]))
    pd.testing.assert_series_equal(out["x"][~holes], ints["x"][~holes])


def test_empty_boolean_and_numeric_columns_are_kept_as_false_and_zero(rng):
    frame = pd.DataFrame({"x": rng.normal(size=N), "y": rng.normal(size=N),
                          "flag": pd.array([pd.NA] * N, dtype="boolean"), "z": np.full(N, np.nan)})
    out = tiny(keep_empty_features=True).fit(frame).transform(frame)
    assert out["flag"].dtype == "boolean" and not out["flag"].any() and not out["flag"].isna().any()
    assert (out["z"] == 0).all()


def test_empty_text_and_category_columns_are_kept_filled_with_missing_value(rng):
    frame = pd.DataFrame({"x": rng.normal(size=N), "y": rng.normal(size=N),
                          "text": pd.Series([None] * N, dtype=object),
                          "kind": pd.Categorical([None] * N, categories=["a"])})
    imputer = tiny(keep_empty_features=True).fit(frame)
    out = imputer.transform(frame)
    assert (out["text"] == "missing_value").all()
    assert (out["kind"] == "missing_value").all() and list(out["kind"].cat.categories) == ["a", "missing_value"]
    assert list(imputer.get_feature_names_out()) == ["x", "y", "text", "kind"]


def test_a_text_placeholder_in_an_object_array_is_missing(rng):
    X = rng.normal(size=(N, 3))
    holes = rng.uniform(size=X.shape) < 0.15
    holes[:, 1:][holes[:, 0]] = False  # no row without an observed entry
    marked = np.where(holes, "?", X.astype(object))
    out = tiny(missing_values="?").fit_transform(marked)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, tiny().fit_transform(np.where(holes, np.nan, X)))
    np.testing.assert_array_equal(out[~holes], X[~holes])


def test_an_integer_placeholder_keeps_a_frames_integer_dtype_and_arrays_become_floats(rng):
    counts = rng.randint(0, 20, N)
    holes = np.zeros(N, dtype=bool)
    holes[:5] = True
    frame = pd.DataFrame({"count": np.where(holes, -1, counts), "x": rng.normal(size=N)})
    out = tiny(missing_values=-1).fit_transform(frame)
    assert out["count"].dtype == np.int64 and (out["count"][holes] >= 0).all()
    nullable = frame.assign(count=pd.array(np.where(holes, None, counts), dtype="Int64"))
    np.testing.assert_array_equal(out["count"], tiny().fit_transform(nullable)["count"].to_numpy(int))
    # arrays follow IterativeImputer and KNNImputer: numbers as float64
    array = tiny(missing_values=-1).fit_transform(frame.to_numpy().astype(np.int64))
    assert array.dtype == np.float64
    np.testing.assert_array_equal(array[~holes, 0], counts[~holes])


@pytest.mark.parametrize("marker", [pd.NA, None, np.nan], ids=["pd.NA", "None", "np.nan"])
def test_missing_value_markers_round_trip_through_model_files(rng, marker, tmp_path):
    frame = pd.DataFrame(rng.normal(size=(N, 3)), columns=list("abc"))
    frame.loc[:4, "a"] = np.nan
    imputer = tiny(missing_values=marker).fit(frame)
    skae.save(imputer, tmp_path / "imputer.skae")
    back = skae.load(tmp_path / "imputer.skae")
    if marker is np.nan:
        assert np.isnan(back.missing_values)
    else:
        assert back.missing_values is marker
    pd.testing.assert_frame_equal(back.transform(frame), imputer.transform(frame))


def test_a_forged_missing_value_marker_is_refused(rng, tmp_path):
    imputer = tiny(missing_values=pd.NA).fit(rng.normal(size=(N, 3)))
    skae.save(imputer, tmp_path / "imputer.skae")
    record = torch.load(tmp_path / "imputer.skae", weights_only=True)
    record["state"]["params"]["missing_values"] = {"__missing__": "os.system"}
    record["sha256"] = persistence._digest({"class": record["class"], "state": record["state"]})
    torch.save(record, tmp_path / "imputer.skae")
    with pytest.raises(ModelFileError, match="missing-value marker"):
        skae.load(tmp_path / "imputer.skae")


def test_feature_names_out_refuses_names_other_than_those_seen_in_fit(rng):
    frame = pd.DataFrame(rng.normal(size=(N, 3)), columns=list("abc"))
    imputer = tiny().fit(frame)
    with pytest.raises(ValueError, match="feature_names_in_"):
        imputer.get_feature_names_out(["p", "q", "r"])
    assert list(imputer.get_feature_names_out(["a", "b", "c"])) == ["a", "b", "c"]
    unnamed = tiny().fit(frame.to_numpy())
    with pytest.raises(ValueError, match="length equal to number of features"):
        unnamed.get_feature_names_out(["p", "q"])


@pytest.mark.parametrize("flag", [True, np.True_])
def test_a_boolean_number_of_estimators_is_refused(rng, flag):
    with pytest.raises(InvalidParameterError, match="'n_estimators' parameter"):
        tiny(n_estimators=flag).fit(rng.normal(size=(N, 3)))
