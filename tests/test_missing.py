"""Missing values: masked likelihoods, statistics of observed entries, every estimator, the imputer."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import skae
from skae import VAE, AutoEncoder, AutoEncoderImputer, AutoEncoderOutlierDetector, ConditionalVAE
from skae.cli import main
from skae.likelihoods import CrossEntropy, SquaredError, likelihood_for
from skae.tables._scaling import column_stats
from skae.tabular import ColumnLayout

FAST = dict(latent_dim=2, hidden_dims=(16,), max_epochs=3, random_state=0)


@pytest.fixture(scope="module")
def holes():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    M = rng.uniform(size=X.shape) < 0.2
    M[M[:, :4].all(axis=1), 0] = False
    return X, M, np.where(M, np.nan, X)


@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    n = 120
    frame = pd.DataFrame({
        "kind": pd.Series(rng.choice(["a", "b", "c"], n), dtype=object),
        "size": rng.normal(10, 2, n),
        "flag": pd.array(rng.uniform(size=n) < 0.5, dtype="boolean"),
        "count": rng.randint(0, 9, n),
    })
    frame.loc[rng.choice(n, 12, replace=False), "kind"] = None
    frame.loc[rng.choice(n, 12, replace=False), "size"] = np.nan
    frame.loc[rng.choice(n, 12, replace=False), "flag"] = pd.NA
    return frame


def test_masked_losses_match_an_independent_numpy_computation():
    g = torch.Generator().manual_seed(0)
    x, out = torch.randn(6, 4, generator=g, dtype=torch.float64), torch.randn(6, 4, generator=g, dtype=torch.float64)
    mask = (torch.rand(6, 4, generator=g) < 0.7).to(torch.float64)
    mask[:, 0] = 1
    xn, on, mn = x.numpy(), out.numpy(), mask.numpy()
    expected = ((xn - on) ** 2 * mn).sum(1) / mn.sum(1)
    np.testing.assert_allclose(SquaredError().loss(x, out, mask).numpy(), expected)
    log_sigma = torch.tensor([0.1, -0.2, 0.3, 0.0], dtype=torch.float64)
    s = np.exp(log_sigma.numpy())
    gauss = (-0.5 * ((xn - on) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)) * mn
    np.testing.assert_allclose(SquaredError("gaussian").log_likelihood(x, out, mask, log_scale=log_sigma).numpy(),
                               gauss.sum(1))
    t = (torch.rand(6, 4, generator=g) < 0.5).to(torch.float64)
    p = 1 / (1 + np.exp(-on))
    bern = (t.numpy() * np.log(p) + (1 - t.numpy()) * np.log(1 - p)) * mn
    np.testing.assert_allclose(CrossEntropy("bernoulli").log_likelihood(t, out, mask).numpy(), bern.sum(1))


def test_a_tables_masked_loss_skips_missing_columns(table):
    layout = ColumnLayout.from_frame(table)
    encoded = layout.encode(table)
    x = torch.as_tensor(np.nan_to_num(encoded), dtype=torch.float64)
    mask = torch.as_tensor(~np.isnan(encoded), dtype=torch.float64)
    out = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    likelihood = likelihood_for("mse", layout)
    terms = likelihood.terms(x, out).numpy()
    observed = ~table.isna().to_numpy()
    weights = likelihood.column_weights
    expected = (terms * weights * observed).sum(1) / observed.sum(1)
    np.testing.assert_allclose(likelihood.loss(x, out, mask).numpy(), expected)


def test_column_statistics_count_observed_entries_only(holes, tmp_path):
    X, M, H = holes
    stats = column_stats([H[:70], H[70:]])
    np.testing.assert_array_equal(stats.n, (~M).sum(0))
    np.testing.assert_allclose(stats.mean, np.nanmean(H, 0))
    np.testing.assert_allclose(stats.var, np.nanvar(H, 0))
    np.testing.assert_allclose(stats.min, np.nanmin(H, 0))
    H.astype(np.float32).tofile(tmp_path / "h.f32")
    on_disk = np.memmap(tmp_path / "h.f32", dtype=np.float32, mode="r", shape=H.shape)
    ae = AutoEncoder(**FAST).fit(on_disk)
    assert ae.model_spec_.missing_values and np.isfinite(ae.transform(on_disk)).all()


@pytest.mark.parametrize("make", [
    lambda: AutoEncoder(**FAST), lambda: VAE(**FAST), lambda: AutoEncoder(corruption="missing", **FAST),
    lambda: AutoEncoder(architecture="conv", architecture__image_shape=(1, 2, 2), **FAST),
], ids=["AutoEncoder", "VAE", "AutoEncoder-missing-corruption", "conv"])
def test_every_estimator_trains_and_scores_rows_with_missing_entries(make, holes):
    X, M, H = holes
    est = make().fit(H[:, :4])
    assert est.model_spec_.missing_values
    for method in ("transform", "score_samples", "reconstruct"):
        assert np.isfinite(getattr(est, method)(H[:, :4])).all(), method
    errors = est.feature_errors(H[:, :4])
    np.testing.assert_array_equal(np.isnan(errors), M[:, :4])
    est.partial_fit(H[:, :4])
    complete = make().fit(X[:, :4])  # trained on complete rows, asked about rows with holes
    hides_entries = complete.corruption == "missing"  # a corruption that makes holes builds a model for them
    assert complete.model_spec_.missing_values == hides_entries and (complete.module_.fill is None) != hides_entries
    assert np.isfinite(complete.transform(H[:, :4])).all() and np.isfinite(complete.score_samples(H[:, :4])).all()
    complete.partial_fit(H[:, :4])  # from now on its loss skips the holes
    assert np.isfinite(complete.transform(H[:, :4])).all()


def test_tables_take_missing_categories_numbers_and_booleans(table):
    for est in (AutoEncoder(**FAST), VAE(**FAST)):
        est.fit(table)
        errors = est.feature_errors(table)
        np.testing.assert_array_equal(np.isnan(errors), table.isna().to_numpy())
        rec = est.reconstruct(table)
        assert not rec.isna().any().any() and list(rec.dtypes) == list(table.dtypes)
    cvae = ConditionalVAE(**FAST).fit(table[["size", "count"]].to_numpy(), table["count"] > 4)
    assert np.isfinite(cvae.transform(table[["size", "count"]].to_numpy(), table["count"] > 4)).all()


def test_rows_and_columns_with_nothing_observed_are_errors(holes):
    X, M, H = holes
    empty_row = H.copy()
    empty_row[7] = np.nan
    with pytest.raises(ValueError, match=r"every entry missing \(rows \[7\]"):
        AutoEncoder(**FAST).fit(empty_row)
    ae = AutoEncoder(**FAST).fit(H)
    with pytest.raises(ValueError, match=r"every entry missing \(rows \[7\]"):
        ae.transform(empty_row)
    empty_column = H.copy()
    empty_column[:, 2] = np.nan
    with pytest.raises(ValueError, match="column 2 has no observed value"):
        AutoEncoder(**FAST).fit(empty_column)
    with pytest.raises(ValueError, match="infinity"):
        ae.transform(np.where(M, np.inf, X))


def test_complete_arrays_take_the_path_without_masks(holes):
    X, _, _ = holes
    ae = AutoEncoder(**FAST).fit(X)
    assert not ae.model_spec_.missing_values and not ae.net_.criterion_.missing and ae.module_.fill is None


def test_the_detector_does_not_flag_a_row_for_having_holes():
    rng = np.random.RandomState(0)
    cov = rng.normal(size=(6, 6))
    X = rng.normal(size=(1500, 6)) @ cov
    det = AutoEncoderOutlierDetector(random_state=0).fit(X)
    fresh = rng.normal(size=(1000, 6)) @ cov
    with_holes = np.where(rng.uniform(size=fresh.shape) < 0.3, np.nan, fresh)
    with_holes[np.isnan(with_holes).all(1), 0] = 0.0
    flagged = np.mean(det.predict(fresh) == -1), np.mean(det.predict(with_holes) == -1)
    assert flagged[1] <= flagged[0] + 0.02, flagged
    anomalies = fresh[:50] + 6 * np.abs(rng.normal(size=(50, 6)))  # still found with holes in them
    holed = np.where(rng.uniform(size=anomalies.shape) < 0.3, np.nan, anomalies)
    holed[np.isnan(holed).all(1), 0] = anomalies[np.isnan(holed).all(1), 0]
    assert np.mean(det.predict(holed) == -1) > 0.8
    trained_with_holes = AutoEncoderOutlierDetector(random_state=0).fit(np.where(
        rng.uniform(size=X.shape) < 0.2, np.nan, X))
    assert np.mean(trained_with_holes.predict(holed) == -1) > 0.8


def test_the_imputer_fills_holes_and_leaves_observed_entries_untouched(holes):
    X, M, H = holes
    imputer = AutoEncoderImputer(random_state=0).fit(H)
    filled = imputer.transform(H)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~M], X[~M])
    mean_error = np.sqrt(np.mean((np.nanmean(H, 0)[None].repeat(len(X), 0)[M] - X[M]) ** 2))
    assert np.sqrt(np.mean((filled[M] - X[M]) ** 2)) < 0.8 * mean_error  # it predicts from the other columns
    np.testing.assert_array_equal(AutoEncoderImputer(random_state=0).fit(H).transform(H), filled)
    draws = [imputer.set_params(random_state=s, sample_posterior=True).transform(H) for s in (0, 1, 0)]
    assert not np.allclose(draws[0][M], draws[1][M]) and np.array_equal(draws[0][~M], X[~M])
    np.testing.assert_array_equal(draws[0], draws[2])  # a draw is repeated by its random_state


def test_the_imputer_averages_the_reconstructions_of_differently_seeded_models(holes):
    X, M, H = holes
    imputer = AutoEncoderImputer(AutoEncoder(**FAST), n_estimators=3, random_state=1).fit(H)
    assert len(imputer.estimators_) == 3 and imputer.estimator_ is imputer.estimators_[0]
    members = [model.reconstruct(H) for model in imputer.estimators_]
    assert not np.allclose(members[0], members[1])  # each model has its own seed
    filled = imputer.transform(H)
    np.testing.assert_allclose(filled[M], np.mean(members, axis=0)[M], rtol=1e-6)
    np.testing.assert_array_equal(filled[~M], X[~M])
    blank = imputer.transform(np.full((2, 5), np.nan))  # nothing observed: the models' mean typical row
    typical = np.mean([m.inverse_transform(m.training_codes_.mean(0, keepdims=True)) for m in imputer.estimators_], 0)
    np.testing.assert_allclose(blank, np.repeat(typical, 2, axis=0), rtol=1e-6)
    assert len(AutoEncoderImputer(AutoEncoder(**FAST)).fit(H).estimators_) == 1  # "auto": one wrapped model
    draws = AutoEncoderImputer(AutoEncoder(**FAST), n_estimators=3, sample_posterior=True, random_state=0).fit(H)
    a, b = draws.transform(H), draws.set_params(random_state=1).transform(H)
    assert not np.allclose(a[M], b[M]) and np.array_equal(a[~M], X[~M])


def test_an_ensemble_takes_the_category_its_models_agree_on():
    rng = np.random.RandomState(0)
    size = rng.normal(10, 2, 300)
    table = pd.DataFrame({"kind": np.where(size < 9, "a", np.where(size < 11, "b", "c")).astype(object),
                          "size": size, "double": 2 * size + rng.normal(0, 0.1, 300)})
    table.loc[rng.choice(300, 40, replace=False), "kind"] = None
    table.loc[rng.choice(300, 40, replace=False), "size"] = np.nan
    imputer = AutoEncoderImputer(AutoEncoder(**{**FAST, "max_epochs": 40}), n_estimators=2, random_state=0).fit(table)
    out = imputer.transform(table)
    members = [model.reconstruct(table) for model in imputer.estimators_]
    holes = table["kind"].isna().to_numpy()
    agreed = holes & (members[0]["kind"] == members[1]["kind"]).to_numpy()
    assert agreed.any()
    assert (out["kind"][agreed] == members[0]["kind"][agreed]).all()
    size_holes = table["size"].isna().to_numpy()
    np.testing.assert_allclose(out["size"][size_holes], (members[0]["size"] + members[1]["size"])[size_holes] / 2,
                               rtol=1e-6)


def test_the_imputer_follows_scikit_learns_imputer_conventions(holes):
    X, M, H = holes
    sentinel = np.where(M, -1.0, X)
    out = AutoEncoderImputer(AutoEncoder(**FAST), missing_values=-1.0, add_indicator=True).fit(sentinel)
    filled = out.transform(sentinel)
    assert filled.shape == (len(X), 5 + M.any(0).sum())
    np.testing.assert_array_equal(filled[:, 5:], M[:, M.any(0)])
    assert list(out.get_feature_names_out())[-1].startswith("missingindicator_x")
    empty = np.c_[H, np.full(len(H), np.nan)]
    assert AutoEncoderImputer(AutoEncoder(**FAST)).fit(empty).transform(empty).shape == (len(X), 5)
    kept = AutoEncoderImputer(AutoEncoder(**FAST), keep_empty_features=True).fit(empty).transform(empty)
    assert kept.shape == (len(X), 6) and (kept[:, 5] == 0).all()
    frame = pd.DataFrame(H, columns=list("abcde"))
    result = AutoEncoderImputer(AutoEncoder(**FAST)).set_output(transform="pandas").fit(frame).transform(frame)
    assert list(result.columns) == list("abcde") and not result.isna().any().any()


def test_the_imputer_keeps_a_tables_dtypes_and_categories(table):
    imputer = AutoEncoderImputer(AutoEncoder(**FAST)).fit(table)
    out = imputer.transform(table)
    assert list(out.dtypes) == list(table.dtypes) and not out.isna().any().any()
    observed = table.notna()
    for column in table.columns:
        pd.testing.assert_series_equal(out[column][observed[column]], table[column][observed[column]])
    assert set(out["kind"]) <= {"a", "b", "c"}


def test_the_imputer_in_a_pipeline_under_grid_search_pickled_and_saved(holes, tmp_path):
    X, M, H = holes
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    pipe = make_pipeline(AutoEncoderImputer(AutoEncoder(**FAST)), LogisticRegression())
    search = GridSearchCV(pipe, {"autoencoderimputer__estimator__latent_dim": [2, 4]}, cv=2).fit(H, y)
    assert search.best_score_ > 0.6
    imputer = AutoEncoderImputer(AutoEncoder(**FAST), add_indicator=True).fit(H)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(imputer)).transform(H), imputer.transform(H))
    skae.save(imputer, tmp_path / "imputer.skae")
    back = skae.load(tmp_path / "imputer.skae")
    np.testing.assert_array_equal(back.transform(H), imputer.transform(H))
    np.testing.assert_array_equal(back.get_feature_names_out(), imputer.get_feature_names_out())
    ensemble = AutoEncoderImputer(AutoEncoder(**FAST), n_estimators=2, random_state=0).fit(H)
    skae.save(ensemble, tmp_path / "ensemble.skae")
    back = skae.load(tmp_path / "ensemble.skae")
    assert len(back.estimators_) == 2
    np.testing.assert_array_equal(back.transform(H), ensemble.transform(H))
    state = imputer.get_fitted_state()  # a file written before ensembles held one "model"
    state["model"] = state.pop("models")[0]
    np.testing.assert_array_equal(AutoEncoderImputer.from_fitted_state(state).transform(H), imputer.transform(H))


def test_the_cli_reads_csvs_with_empty_cells(holes, tmp_path, capsys):
    X, M, H = holes
    pd.DataFrame(H, columns=list("abcde")).to_csv(tmp_path / "gaps.csv", index=False)
    assert ",," in (tmp_path / "gaps.csv").read_text() or ",\n" in (tmp_path / "gaps.csv").read_text()
    assert main(["fit", str(tmp_path / "gaps.csv"), "-p", "max_epochs=2", "-o", str(tmp_path / "m.skae")]) == 0
    assert "missing values in" in capsys.readouterr().err
    assert main(["transform", str(tmp_path / "m.skae"), str(tmp_path / "gaps.csv"), "--method",
                 "reconstruct", "-o", str(tmp_path / "rec.csv")]) == 0
    assert not pd.read_csv(tmp_path / "rec.csv").isna().any().any()
