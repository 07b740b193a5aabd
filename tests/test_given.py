"""``sample(n, given=...)`` on a table: given columns hold exactly the values asked for, or the call says why not."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins

from skae import VAE, AutoEncoder

FAST = dict(latent_dim=2, hidden_dims=(16,), max_epochs=3, random_state=0)


@pytest.fixture(scope="module")
def penguins():
    table = load_penguins()
    table["island"] = table["island"].astype("category")
    table["tagged"] = table["body_mass_g"] > 4000  # a boolean column
    table["seen"] = pd.Timestamp("2008-06-01") + pd.to_timedelta(np.arange(len(table)) % 60, unit="D")
    return table


@pytest.fixture(scope="module")
def models(penguins):
    return {"VAE": VAE(**FAST).fit(penguins), "AutoEncoder": AutoEncoder(**FAST).fit(penguins)}


@pytest.fixture(scope="module")
def vae(models):
    return models["VAE"]


def test_a_given_number_outside_the_fitted_range_warns_naming_column_value_and_range(vae, penguins):
    low, high = penguins["bill_length_mm"].min(), penguins["bill_length_mm"].max()
    with pytest.warns(UserWarning, match=re.escape(f"given['bill_length_mm'] = 1e+06 lies outside the range of "
                                                   f"column 'bill_length_mm' seen at fit, [{low:g}, {high:g}]")) as w:
        rows = vae.sample(5, random_state=0, given={"bill_length_mm": 1e6})
    assert w[0].filename == __file__  # points at the call, not into skae
    assert (rows["bill_length_mm"] == 1e6).all()  # still held: extrapolation is allowed, only flagged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vae.sample(5, random_state=0, given={"bill_length_mm": high})  # the edge of the range is inside it


def test_an_unknown_given_category_lists_the_known_ones_without_advice_that_cannot_help(vae):
    with pytest.raises(ValueError, match=re.escape("given['island'] holds categories not seen in fit: 'Atlantis'. "
                                                   "Column 'island' has 3 categories: ['Biscoe', 'Dream', "
                                                   "'Torgersen']")) as info:
        vae.sample(5, given={"island": "Atlantis"})
    assert "handle_unknown" not in str(info.value)


@pytest.mark.parametrize("name", ["VAE", "AutoEncoder"])
def test_given_columns_come_back_as_the_dtypes_plain_sample_gives(models, name):
    model = models[name]
    plain = model.sample(3, random_state=0).dtypes
    seen = [pd.Timestamp("2008-06-02"), pd.Timestamp("2008-06-03"), pd.Timestamp("2008-06-04")]
    as_dict = {"island": ["Dream", "Biscoe", "Dream"], "sex": "male", "year": 2008, "tagged": True, "seen": seen,
               "body_mass_g": 4000.0}
    as_frame = pd.DataFrame({"island": pd.Categorical(["Dream", "Biscoe", "Dream"]), "year": [2007, 2008, 2009],
                             "seen": seen})
    for given in (as_dict, as_frame):
        rows = model.sample(3, random_state=0, given=given)
        pd.testing.assert_series_equal(rows.dtypes, plain)  # the category dtype with its categories, every column
        for column in given:
            expected = pd.Series(np.broadcast_to(np.asarray(given[column], dtype=object), 3), name=column)
            assert rows[column].astype(object).tolist() == expected.tolist(), column


def test_a_fraction_for_an_integer_column_is_an_error_naming_column_and_value(vae):
    with pytest.raises(ValueError, match=r"given\['year'\] holds 2008\.7, but column 'year' holds integers"):
        vae.sample(3, given={"year": 2008.7})
    assert (vae.sample(3, random_state=0, given={"year": 2008.0})["year"] == 2008).all()  # a whole float is exact


@pytest.mark.parametrize("column, missing", [("body_mass_g", np.nan), ("body_mass_g", None),
                                             ("body_mass_g", pd.NA), ("island", None), ("seen", pd.NaT)])
def test_a_missing_given_value_is_an_error_that_says_to_leave_the_column_out(vae, column, missing):
    with pytest.raises(ValueError, match=rf"given\['{column}'\] holds missing values .* leave '{column}' out of "
                                         "given to draw that column freely"):
        vae.sample(3, given={column: missing})


def test_a_given_list_of_another_length_says_how_many_rows_it_holds_for_how_many_samples(vae):
    with pytest.raises(ValueError, match=r"given holds 2 rows for 3 samples"):
        vae.sample(3, given={"island": ["Dream", "Biscoe"]})


def test_an_empty_given_is_no_condition(vae):
    plain = vae.sample(2, random_state=0)
    pd.testing.assert_frame_equal(vae.sample(2, random_state=0, given={}), plain)
    pd.testing.assert_frame_equal(vae.sample(2, random_state=0, given=pd.DataFrame()), plain)


@pytest.mark.parametrize("given, error, message", [
    ({"tagged": "yes"}, TypeError, r"given\['tagged'\] holds 'yes', but column 'tagged' is boolean"),
    ({"tagged": 2}, TypeError, r"given\['tagged'\] holds 2, but column 'tagged' is boolean"),
    ({"seen": 5}, TypeError, r"given\['seen'\] holds 5, but column 'seen' holds datetimes"),
    ({"seen": True}, TypeError, r"given\['seen'\] holds True, but column 'seen' holds datetimes"),
    ({"seen": "soon"}, TypeError, r"given\['seen'\] holds 'soon', which is not a datetime"),
    ({"seen": pd.Timestamp("2008-06-02", tz="UTC")}, TypeError, r"a time with a time zone, but column 'seen'"),
    ({"year": True}, TypeError, r"given\['year'\] holds True, but column 'year' is numeric"),
    ({"year": "2008"}, TypeError, r"given\['year'\] holds '2008', but column 'year' is numeric"),
    ({"body_mass_g": np.inf}, ValueError, r"given\['body_mass_g'\] holds inf: column 'body_mass_g' takes finite"),
])
def test_given_values_of_the_wrong_type_for_booleans_datetimes_and_numbers_are_errors(vae, given, error, message):
    with pytest.raises(error, match=message):
        vae.sample(2, given=given)


def test_a_given_datetime_outside_the_fitted_range_warns_and_is_held(vae):
    with pytest.warns(UserWarning, match=re.escape("given['seen'] = 2030-01-01 00:00:00 lies outside the range of "
                                                   "column 'seen' seen at fit, [2008-06-01 00:00:00, 2008-07-30")):
        rows = vae.sample(2, random_state=0, given={"seen": "2030-01-01"})
    assert (rows["seen"] == pd.Timestamp("2030-01-01")).all()
