"""Mixed-type tables: numeric, categorical and boolean columns through the public API."""

import math
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import skae
from skae import VAE, AutoEncoder, AutoEncoderOutlierDetector, ConditionalVAE
from skae.cli import main
from skae.likelihoods import likelihood_for
from skae.tabular import ColumnLayout

FAST = dict(latent_dim=2, hidden_dims=(32,), max_epochs=40, random_state=0)


@pytest.fixture(scope="module")
def table():
    """Penguin-like rows: species decides island and the numbers; a boolean and an int column."""
    rng = np.random.RandomState(0)
    n = 300
    species = rng.choice(["Adelie", "Gentoo", "Chinstrap"], n)
    island = np.where(species == "Gentoo", "Biscoe", np.where(species == "Adelie", "Torgersen", "Dream"))
    mass = np.where(species == "Gentoo", 5000.0, 3700.0) + rng.normal(0, 150, n)
    bill = np.where(species == "Chinstrap", 49.0, 40.0) + rng.normal(0, 1, n)
    return pd.DataFrame({
        "species": pd.Categorical(species), "island": island, "mass": mass, "bill": bill,
        "male": mass > np.median(mass), "year": rng.randint(2007, 2010, n),
    })


def test_round_trip_keeps_names_dtypes_and_categories(table):
    ae = AutoEncoder(**FAST).fit(table)
    assert list(ae.feature_names_in_) == list(table.columns) and ae.n_features_in_ == 6
    rec = ae.reconstruct(table)
    assert list(rec.columns) == list(table.columns)
    assert rec["species"].dtype == table["species"].dtype  # the same categories
    assert rec["male"].dtype == bool and rec["year"].dtype == np.int64 and rec["mass"].dtype == np.float64
    assert str(rec["island"].dtype) == str(table["island"].dtype)
    for column in ("species", "island"):
        assert (rec[column] == table[column]).mean() > 0.95, column
    assert (rec["male"] == table["male"]).mean() > 0.85  # a threshold on noisy mass: the hardest column
    assert np.sqrt(np.mean((rec["mass"] - table["mass"]) ** 2)) < 0.5 * table["mass"].std()
    decoded = ae.inverse_transform(ae.transform(table))
    pd.testing.assert_frame_equal(decoded, rec)


def test_losses_match_an_independent_computation(table):
    layout = ColumnLayout.from_frame(table)
    assert layout.kinds == ["categorical", "categorical", "numeric", "numeric", "boolean", "numeric"]
    assert layout.width == 3 + 3 + 1 + 1 + 1 + 1
    x = torch.as_tensor(layout.encode(table.iloc[:5]), dtype=torch.float64)
    out = torch.randn(5, layout.width, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    likelihood = likelihood_for("gaussian", layout)
    errors = likelihood.terms(x, out).numpy()
    xo, oo = x.numpy(), out.numpy()
    for r in range(5):
        for j, (start, stop) in enumerate(layout.slots):
            t, o = xo[r, start:stop], oo[r, start:stop]
            if layout.kinds[j] == "categorical":
                expected = -np.log(np.exp(o) / np.exp(o).sum())[t.argmax()]
            elif layout.kinds[j] == "boolean":
                p = 1 / (1 + np.exp(-o[0]))
                expected = -(t[0] * np.log(p) + (1 - t[0]) * np.log(1 - p))
            else:
                expected = (t[0] - o[0]) ** 2
            assert errors[r, j] == pytest.approx(expected, rel=1e-9)
    weights = np.array([1 / math.log(3), 1 / math.log(3), 1, 1, 1 / math.log(2), 1])
    np.testing.assert_allclose(likelihood.loss(x, out).numpy(), (errors * weights).mean(1))
    log_scale = torch.tensor(0.3, dtype=torch.float64)
    expected = (-0.5 * (errors[:, [2, 3, 5]] * np.exp(-0.6) + np.log(2 * np.pi)) - 0.3).sum(1) \
        - errors[:, [0, 1, 4]].sum(1)
    np.testing.assert_allclose(likelihood.log_likelihood(x, out, log_scale=log_scale).numpy(), expected)


def test_errors_are_per_original_column_and_name_the_column(table):
    ae = AutoEncoder(**FAST).fit(table)
    broken = table.copy()
    broken.loc[:9, "island"] = "Biscoe"  # Adelie and Chinstrap on Gentoo's island
    broken.loc[:9, "species"] = "Adelie"
    errors = ae.feature_errors(broken)
    assert errors.shape == (len(table), 6)
    changed = (errors[:10, 1] - ae.feature_errors(table)[:10, 1])[table["species"][:10].to_numpy() != "Gentoo"]
    assert np.mean(changed > 0.5) >= 0.8 and changed.mean() > 1.0  # the island's cross-entropy rose
    det = AutoEncoderOutlierDetector(random_state=0).fit(table)
    attribution = det.feature_errors(broken)
    assert list(attribution.columns) == list(table.columns)
    scores = -det.score_samples(broken)
    moved = table["species"][:10].to_numpy() != "Gentoo"
    assert scores[:10][moved].min() > np.quantile(scores[10:], 0.9)


def test_unknown_categories_and_wrong_columns(table):
    ae = AutoEncoder(**FAST).fit(table)
    unknown = table.iloc[:5].copy()
    unknown["island"] = unknown["island"].astype(object)
    unknown.iloc[0, 1] = "Mars"
    with pytest.raises(ValueError, match="'island' holds categories not seen in fit: 'Mars'"):
        ae.transform(unknown)
    ae.set_params(handle_unknown="ignore")
    scores = ae.score_samples(unknown)
    # an unknown category is unusual: far below the same row with its real island, and in the 5 % tail
    assert scores[0] < ae.score_samples(table.iloc[:1])[0] - 0.3
    assert scores[0] < np.quantile(ae.score_samples(table), 0.05)
    with pytest.raises(ValueError, match="differ from those seen in fit"):
        ae.transform(table[["island", "species", "mass", "bill", "male", "year"]])
    with pytest.raises(TypeError, match="fitted on a DataFrame with categorical"):
        ae.transform(table.select_dtypes("number").to_numpy())
    with pytest.raises(TypeError, match="'when' has dtype timedelta64"):
        AutoEncoder(**FAST).fit(table.assign(when=pd.Timedelta("1D")))
    with pytest.raises(ValueError, match="'bce' models data in \\[0, 1\\]"):
        AutoEncoder(loss="bce", **FAST).fit(table)


def test_samples_draw_categories_from_the_softmax(table):
    ae = AutoEncoder(**FAST).fit(table)
    samples = ae.sample(600, random_state=0)
    assert list(samples.columns) == list(table.columns) and samples["species"].dtype == table["species"].dtype
    shares = samples["species"].value_counts(normalize=True)
    assert set(shares.index) == {"Adelie", "Gentoo", "Chinstrap"} and shares.min() > 0.15
    # columns are drawn independently given the code: a sharp decoder keeps them consistent
    plausible = set(zip(table["species"], table["island"]))
    assert np.mean([pair in plausible for pair in zip(samples["species"], samples["island"])]) > 0.85
    pd.testing.assert_frame_equal(ae.sample(5, random_state=1), ae.sample(5, random_state=1))


def test_vae_cvae_pipeline_search_pickle_and_model_files(table, tmp_path):
    vae = VAE(**FAST).fit(table)
    assert np.isfinite(vae.score_samples(table)).all()
    assert vae.sample(4, random_state=0, draw=True).shape == (4, 6)
    skae.save(vae, tmp_path / "v.skae")
    np.testing.assert_array_equal(skae.load(tmp_path / "v.skae").score_samples(table), vae.score_samples(table))
    cvae = ConditionalVAE(**FAST).fit(table.drop(columns="species"), table["species"])
    gentoo = cvae.sample(50, y="Gentoo", random_state=0)
    assert (gentoo["island"] == "Biscoe").mean() > 0.8 and gentoo["mass"].mean() > 4500
    pipe = make_pipeline(AutoEncoder(**FAST)).set_output(transform="pandas")
    assert list(pipe.fit_transform(table).columns) == ["latent0", "latent1"]
    search = GridSearchCV(AutoEncoder(hidden_dims=(16,), max_epochs=5, random_state=0), {"latent_dim": [1, 2]},
                          cv=2).fit(table)
    clone = pickle.loads(pickle.dumps(search.best_estimator_))
    pd.testing.assert_frame_equal(clone.reconstruct(table), search.best_estimator_.reconstruct(table))
    det = AutoEncoderOutlierDetector(n_estimators=2, random_state=0).fit(table)
    skae.save(det, tmp_path / "d.skae")
    np.testing.assert_array_equal(skae.load(tmp_path / "d.skae").score_samples(table), det.score_samples(table))


def test_refitting_on_numeric_data_forgets_the_layout(table):
    ae = AutoEncoder(**FAST).fit(table)
    numeric = table[["mass", "bill"]].to_numpy()
    ae.fit(numeric)
    assert not hasattr(ae, "column_layout_") and isinstance(ae.reconstruct(numeric), np.ndarray)
    with pytest.raises(TypeError, match="fitted on numeric data; X has categorical or boolean columns"):
        ae.transform(table[["species", "mass"]])


def test_cli_fits_a_mixed_csv_and_names_its_categorical_columns(table, tmp_path, capsys):
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    model = tmp_path / "m.skae"
    assert main(["fit", str(path), "-p", "max_epochs=5", "-p", "hidden_dims=[16]", "--out", str(model)]) == 0
    err = capsys.readouterr().err
    assert "species (3 categories), island (3 categories)" in err and "--drop" in err
    out = tmp_path / "r.csv"
    assert main(["transform", str(model), str(path), "--method", "reconstruct", "--out", str(out)]) == 0
    rec = pd.read_csv(out)
    assert list(rec.columns) == list(table.columns) and set(rec["species"]) <= {"Adelie", "Gentoo", "Chinstrap"}


def test_interpolating_a_table_says_how(table):
    ae = AutoEncoder(**FAST).fit(table)
    with pytest.raises(TypeError, match="interpolate the codes"):
        ae.interpolate(table.iloc[0], table.iloc[1])
    path = ae.inverse_transform(np.linspace(0, 1, 5)[:, None] * ae.transform(table.iloc[[0]])
                                + np.linspace(1, 0, 5)[:, None] * ae.transform(table.iloc[[1]]))
    assert list(path.columns) == list(table.columns) and len(path) == 5
