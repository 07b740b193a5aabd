"""Drawn values lie on the support the data have: few distinct values, grids, point masses, dates."""

import numpy as np
import pandas as pd
import pytest

from skae import VAE, AutoEncoder
from skae.tabular import ColumnLayout, QuantileMap

FAST = dict(max_epochs=8, hidden_dims=(16,), latent_dim=3, random_state=0)


@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    n = 1200
    return pd.DataFrame({
        "size": rng.choice(np.arange(30, 86), n),  # 56 sizes: more than 30, fewer than one per 20 rows
        "price": np.round(rng.lognormal(3, 1, n), 2),  # in cents
        "spiky": np.where(rng.uniform(size=n) < 0.4, 0.0, rng.exponential(5, n)),  # 40 % exactly 0
        "day": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.randint(0, 900, n), unit="D"),
        "kind": rng.choice(list("abc"), n),
    })


@pytest.mark.parametrize("make", [VAE, AutoEncoder])
def test_sampled_columns_take_only_values_the_data_take(table, make):
    rows = make(**FAST).fit(table).sample(1000, random_state=0)
    assert rows["size"].isin(table["size"]).all()
    cents = rows["price"].to_numpy() * 100
    np.testing.assert_allclose(cents, np.round(cents), atol=1e-6)
    # and exactly the doubles such prices are when read from text (not 5.6000000000000005 for 5.6): a
    # classifier's split between two neighbouring doubles tells them apart
    as_read = np.array([float(f"{v:.2f}") for v in rows["price"]])
    np.testing.assert_array_equal(rows["price"].to_numpy(), as_read)
    assert (rows["day"] == rows["day"].dt.normalize()).all()  # dates stay dates


def test_values_on_a_decimal_grid_are_the_doubles_of_their_decimals():
    from skae.tables._values import Support

    ages = np.round(np.random.RandomState(0).uniform(2, 6.2, 600), 1)  # ages in decades: 43 values on a 0.1 grid
    support = Support.fit(ages)
    assert support.step == 0.1
    drawn = support.snap(np.random.RandomState(1).uniform(2, 6.2, 5000))
    np.testing.assert_array_equal(drawn, [float(f"{v:.1f}") for v in drawn])
    assert set(drawn) <= set(ages) | set(np.round(np.arange(20, 63) / 10, 1))


def test_a_point_mass_is_drawn_with_its_frequency(table):
    rows = VAE(**FAST).fit(table).sample(2000, random_state=0)
    assert abs((rows["spiky"] == 0).mean() - (table["spiky"] == 0).mean()) < 0.08
    assert rows.loc[rows["spiky"] != 0, "spiky"].nunique() > 100  # the continuous part stays continuous


def test_reconstructed_numbers_keep_their_precision_and_dates_their_grid(table):
    ae = AutoEncoder(**FAST).fit(table)
    out = ae.reconstruct(table.head(50))
    assert not np.allclose(out["price"] * 100, np.round(out["price"] * 100))  # a best value, not a draw
    assert (out["day"] == out["day"].dt.normalize()).all()


def test_quantile_map_decodes_masses_exactly_and_interpolates_between():
    x = np.concatenate([np.zeros(300), np.random.RandomState(0).exponential(1, 700)])
    qmap = QuantileMap.fit(x)
    from scipy.special import ndtri

    u = np.linspace(0.001, 0.999, 999)
    decoded = qmap.decode(ndtri(u))
    np.testing.assert_array_equal(decoded[u < 0.3 - 1e-3], 0.0)  # the mass's share of the scores
    assert (decoded[u > 0.3 + 1e-3] > 0).all()


def test_layouts_written_before_supports_still_load(table):
    layout = ColumnLayout.from_frame(table)
    state = layout.to_state()
    del state["supports"]
    old = ColumnLayout.from_state(state)
    assert old.supports == [None] * len(table.columns)
    restored = ColumnLayout.from_state(layout.to_state())
    assert [None if s is None else s.to_state() for s in restored.supports] == \
        [None if s is None else s.to_state() for s in layout.supports]
