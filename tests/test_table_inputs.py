"""What real tables bring: decimals and dates, numeric-looking categories, small integers, ordered categories,
integer labels, complex numbers, duplicated or MultiIndex columns, unhashable values, identifiers."""

import datetime
import decimal
import warnings

import numpy as np
import pandas as pd
import pytest

from skae import VAE, AutoEncoder, AutoEncoderOutlierDetector
from skae.cli import main

FAST = dict(latent_dim=2, hidden_dims=(16,), max_epochs=3, random_state=0)


@pytest.fixture
def frame():
    rng = np.random.RandomState(0)
    n = 80
    return pd.DataFrame({"grade": rng.choice(["1", "2", "x"], n), "price": rng.normal(100, 10, n)})


def test_decimal_columns_are_numbers_and_date_columns_are_datetimes(tmp_path):
    import skae

    rng = np.random.RandomState(0)
    n = 60
    frame = pd.DataFrame({
        "price": [decimal.Decimal(f"{v:.2f}") for v in rng.normal(50, 5, n)],
        "day": [datetime.date(2024, 1, 1) + datetime.timedelta(days=int(d)) for d in rng.randint(0, 300, n)],
        "kind": rng.choice(["a", "b"], n),
    })
    ae = AutoEncoder(**FAST).fit(frame)
    assert ae.column_layout_.kinds == ["numeric", "datetime", "categorical"]
    new = frame.iloc[:3].copy()
    new.loc[0, "price"] = decimal.Decimal("57.31")  # a price never seen: a number, not an unknown category
    assert np.isfinite(ae.score_samples(new)).all()
    rec = ae.reconstruct(frame)
    assert all(isinstance(d, datetime.date) for d in rec["day"])
    skae.save(ae, tmp_path / "m.skae")  # the column kind was decided before training: the model file saves
    pd.testing.assert_frame_equal(skae.load(tmp_path / "m.skae").reconstruct(frame), rec)
    stamps = frame.assign(day=pd.to_datetime(frame["day"]).dt.tz_localize("Europe/Paris"))
    out = VAE(**FAST).fit(stamps).sample(4, random_state=0)
    assert str(out["day"].dtype) == str(stamps["day"].dtype)


def test_the_cli_models_decimal_columns_read_from_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"price": [decimal.Decimal(f"{v}.25") for v in range(40)], "q": np.arange(40.0)})
    frame.to_parquet(tmp_path / "prices.parquet")
    assert main(["fit", str(tmp_path / "prices.parquet"), "-p", "max_epochs=2", "-o", str(tmp_path / "m.skae")]) == 0
    assert (tmp_path / "m.skae").exists()


def test_categories_that_look_numeric_match_by_their_text(frame, tmp_path):
    ae = AutoEncoder(**FAST).fit(frame)
    later = frame[frame["grade"] != "x"].iloc[:5].copy()
    later["grade"] = later["grade"].astype(int)  # what pandas reads from a file holding only 1 and 2
    assert np.isfinite(ae.transform(later)).all()
    later.to_csv(tmp_path / "later.csv", index=False)
    frame.to_csv(tmp_path / "train.csv", index=False)
    det = AutoEncoderOutlierDetector(random_state=0).fit(pd.read_csv(tmp_path / "train.csv", dtype={"grade": str}))
    assert np.isfinite(det.score_samples(pd.read_csv(tmp_path / "later.csv"))).all()
    unknown = later.assign(grade=[7, 1, 2, 1, 2])
    with pytest.raises(ValueError, match=r"categories not seen in fit: 7\. Known: \['1', '2', 'x'\]"):
        ae.transform(unknown)


def test_small_integer_dtypes_are_clipped_to_their_range():
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"age": rng.randint(100, 128, 60).astype(np.int8), "level": rng.randint(240, 256, 60)
                          .astype(np.uint8), "kind": rng.choice(["a", "b"], 60)})
    vae = VAE(**FAST).fit(frame)
    drawn = vae.sample(500, random_state=0, draw=True)
    assert drawn["age"].dtype == np.int8 and drawn["level"].dtype == np.uint8
    assert drawn["age"].min() >= -128 and (drawn["age"] >= 0).mean() > 0.9  # no wrap-around to negative ages
    assert vae.inverse_transform(np.full((2, 2), 50.0))["level"].dtype == np.uint8


def test_ordered_and_unused_categories_come_back_as_the_dtype_had_them():
    levels = pd.CategoricalDtype(["lo", "mid", "hi"], ordered=True)
    frame = pd.DataFrame({"g": pd.Series(np.resize(["lo", "hi"], 60)).astype(levels), "v": np.arange(60.0)})
    rec = AutoEncoder(**FAST).fit(frame).reconstruct(frame)
    assert rec["g"].dtype == levels
    assert ((rec["g"] == frame["g"]) | True).all()  # comparable: same categories, same order


def test_integer_column_labels_come_back(frame):
    numbered = frame.set_axis([0, 1], axis=1)
    rec = AutoEncoder(**FAST).fit(numbered).reconstruct(numbered)
    assert list(rec.columns) == [0, 1]
    assert not (numbered[[1]] - rec[[1]]).isna().any().any()


def test_complex_columns_are_refused_like_complex_arrays(frame):
    with pytest.raises(TypeError, match="'z' has dtype complex128, which skae cannot model"):
        AutoEncoder(**FAST).fit(frame.assign(z=np.arange(len(frame)) * (1 + 1j)))
    with pytest.raises(ValueError, match="Complex data not supported"):
        AutoEncoder(**FAST).fit(np.ones((10, 2)) * (1 + 1j))


def test_duplicated_multiindex_and_unhashable_columns_are_named(frame):
    with pytest.raises(ValueError, match=r"duplicated column names \['price'\]"):
        AutoEncoder(**FAST).fit(pd.concat([frame, frame[["price"]]], axis=1))
    numeric = frame[["price"]].assign(other=1.0)
    with pytest.raises(ValueError, match=r"duplicated column names \['price'\]"):
        AutoEncoder(**FAST).fit(numeric.set_axis(["price", "price"], axis=1))
    with pytest.raises(ValueError, match="MultiIndex column labels"):
        AutoEncoder(**FAST).fit(frame.set_axis(pd.MultiIndex.from_tuples([("g", "a"), ("g", "b")]), axis=1))
    with pytest.raises(TypeError, match="Column 'tags' holds unhashable values"):
        AutoEncoder(**FAST).fit(frame.assign(tags=[[i] for i in range(len(frame))]))
    with pytest.raises(ValueError, match="'mixed' holds both booleans and numbers"):
        AutoEncoder(**FAST).fit(frame.assign(mixed=pd.Series([True, 1] * 40, dtype=object)))


def test_an_identifier_like_column_warns_by_name(frame):
    with pytest.warns(UserWarning, match="Column 'id' has 80 categories in 80 rows"):
        AutoEncoder(**FAST).fit(frame.assign(id=[f"u{i}" for i in range(len(frame))]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AutoEncoder(**FAST).fit(frame)


def test_partial_fit_skips_unknown_categories_instead_of_learning_no_category(frame):
    ae = AutoEncoder(handle_unknown="ignore", **{**FAST, "max_epochs": 40}).fit(frame)
    before = ae.score_samples(frame.iloc[:5])
    new = frame.assign(grade="zzz")
    ae.partial_fit(new)  # every row's category is new: the grade term is skipped, not pushed to uniform
    known = ae.score_samples(frame.iloc[:5])
    assert np.isfinite(known).all() and np.mean(np.abs(known - before)) < 1.0
    assert (ae.score_samples(new.iloc[:5]) < known).all()  # a new category still scores as unusual


def test_the_detector_scores_an_unseen_category_high(frame):
    det = AutoEncoderOutlierDetector(random_state=0).fit(frame)
    new = frame.iloc[:5].assign(grade="never seen")
    assert (det.score_samples(new) < np.quantile(det.score_samples(frame), 0.1)).all()
    wrapped = AutoEncoderOutlierDetector(AutoEncoder(**FAST), random_state=0).fit(frame)
    assert np.isfinite(wrapped.score_samples(new)).all()
    with warnings.catch_warnings():  # the members see the detector's validated columns: no name warnings
        warnings.simplefilter("error")
        AutoEncoderOutlierDetector(AutoEncoder(**FAST), n_estimators=3, random_state=0).fit(frame[["price"]])
