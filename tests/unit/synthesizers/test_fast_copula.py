"""FastCopulaEngine: marginals, dependence, categories, missingness, stratification, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from synthstruct.errors import InputError, ModelIntegrityError, NotFittedError
from synthstruct.synthesizers.fast_copula import FastCopulaEngine


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, dict[str, str]]:
    rng = np.random.default_rng(0)
    n = 4000
    income = rng.lognormal(10.0, 0.6, n)
    spend = 0.3 * income + rng.normal(0.0, 1500.0, n)  # strong monotone dependence
    gain = np.where(rng.random(n) < 0.9, 0.0, rng.integers(1000, 20000, n).astype(float))  # point mass at 0
    hours = np.where(rng.random(n) < 0.2, np.nan, rng.integers(20, 60, n).astype(float))  # 20% missing
    region = rng.choice(np.array(["north", "south", "east", "west"], dtype=object), n, p=[0.4, 0.3, 0.2, 0.1])
    label = np.where(income + rng.normal(0, 5000, n) > np.quantile(income, 0.75), ">50K", "<=50K").astype(object)
    frame = pd.DataFrame({"income": income, "spend": spend, "gain": gain, "hours": hours,
                          "region": region, "label": label})
    kinds = {c: "categorical" if c in ("region", "label") else "numerical" for c in frame.columns}
    return frame, kinds


@pytest.fixture(scope="module")
def fitted(table: tuple[pd.DataFrame, dict[str, str]]) -> FastCopulaEngine:
    frame, kinds = table
    return FastCopulaEngine().fit(frame, kinds=kinds, target="label", seed=0)


@pytest.fixture(scope="module")
def synthetic(fitted: FastCopulaEngine) -> pd.DataFrame:
    return fitted.sample(8000, seed=1)


def test_numeric_marginals_are_reproduced(table, synthetic) -> None:
    frame, _ = table
    for col in ("income", "spend", "gain", "hours"):
        statistic = ks_2samp(frame[col].dropna(), synthetic[col].dropna()).statistic
        assert statistic < 0.04, f"{col}: KS {statistic:.3f}"


def test_point_mass_and_integers_are_kept(table, synthetic) -> None:
    frame, _ = table
    assert abs((synthetic["gain"] == 0).mean() - (frame["gain"] == 0).mean()) < 0.02
    hours = synthetic["hours"].dropna()
    assert (hours == np.round(hours)).all() and hours.between(20, 59).all()


def test_strong_correlation_is_reproduced(table, synthetic) -> None:
    frame, _ = table
    real = frame["income"].corr(frame["spend"], method="spearman")
    fake = synthetic["income"].corr(synthetic["spend"], method="spearman")
    assert real > 0.8 and abs(real - fake) < 0.05


def test_missing_share_is_reproduced(table, synthetic) -> None:
    frame, _ = table
    assert abs(synthetic["hours"].isna().mean() - frame["hours"].isna().mean()) < 0.02
    assert not synthetic[["income", "spend", "gain", "region", "label"]].isna().any().any()


def test_categories_only_from_training_with_shares(table, synthetic) -> None:
    frame, _ = table
    assert set(synthetic["region"]) <= set(frame["region"])
    real = frame["region"].value_counts(normalize=True)
    fake = synthetic["region"].value_counts(normalize=True).reindex(real.index)
    assert (abs(real - fake) < 0.025).all()


def test_stratification_keeps_class_shares_and_class_conditionals(table, fitted, synthetic) -> None:
    frame, _ = table
    assert len(fitted.strata_) == 2
    assert abs((synthetic["label"] == ">50K").mean() - (frame["label"] == ">50K").mean()) < 0.02
    for label in (">50K", "<=50K"):
        real = frame.loc[frame["label"] == label, "income"].median()
        fake = synthetic.loc[synthetic["label"] == label, "income"].median()
        assert abs(fake / real - 1) < 0.05, label


def test_rare_classes_share_a_pooled_copula() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=500),
                          "t": np.array(["a"] * 480 + ["b"] * 15 + ["c"] * 5, dtype=object)})
    engine = FastCopulaEngine(min_stratum_rows=50).fit(frame, kinds={"x": "numerical", "t": "categorical"},
                                                       target="t", seed=0)
    out = engine.sample(20000, seed=0)
    shares = out["t"].value_counts(normalize=True)
    assert abs(shares["b"] - 0.03) < 0.006 and abs(shares["c"] - 0.01) < 0.004


def test_category_order_carries_dependence_on_numbers() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    group = rng.choice(np.array(["low", "high", "mid"], dtype=object), n)
    value = pd.Series(group).map({"low": 0.0, "mid": 5.0, "high": 10.0}).to_numpy() + rng.normal(0, 1, n)
    frame = pd.DataFrame({"group": group, "value": value})
    engine = FastCopulaEngine().fit(frame, kinds={"group": "categorical", "value": "numerical"}, seed=0)
    out = engine.sample(6000, seed=0)
    means = out.groupby("group")["value"].mean()
    assert means["low"] < means["mid"] < means["high"]
    assert means["high"] - means["low"] > 6.0


def test_same_seed_same_frame_other_seed_other_frame(fitted) -> None:
    pd.testing.assert_frame_equal(fitted.sample(500, seed=4), fitted.sample(500, seed=4))
    assert not fitted.sample(500, seed=4).equals(fitted.sample(500, seed=5))
    single = FastCopulaEngine(n_threads=1, **{k: v for k, v in fitted.get_params().items() if k != "n_threads"})
    single.__dict__.update({k: v for k, v in vars(fitted).items() if k.endswith("_")})
    pd.testing.assert_frame_equal(single.sample(300_000, seed=4), fitted.sample(300_000, seed=4))


def test_unfitted_and_bad_target_raise(table) -> None:
    frame, kinds = table
    with pytest.raises(NotFittedError):
        FastCopulaEngine().sample(3)
    with pytest.raises(InputError):
        FastCopulaEngine().fit(frame, kinds=kinds, target="nope")


def test_save_is_json_and_npz_without_pickle(fitted, tmp_path: Path) -> None:
    fitted.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arrays.npz", "integrity.json", "model.json"]
    json.loads((tmp_path / "model.json").read_text())
    with np.load(tmp_path / "arrays.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
    loaded = FastCopulaEngine.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.sample(1000, seed=9), fitted.sample(1000, seed=9))


def test_load_refuses_an_edited_model(fitted, tmp_path: Path) -> None:
    fitted.save(tmp_path)
    model = json.loads((tmp_path / "model.json").read_text())
    model["strata"][0]["weight"] = 0.99
    (tmp_path / "model.json").write_text(json.dumps(model))
    with pytest.raises(ModelIntegrityError, match="model.json"):
        FastCopulaEngine.load(tmp_path)


def test_category_python_types_survive_save(tmp_path: Path) -> None:
    frame = pd.DataFrame({"k": np.array([3, 2.5, "x", True, np.nan] * 20, dtype=object), "v": np.arange(100.0)})
    engine = FastCopulaEngine().fit(frame, kinds={"k": "categorical", "v": "numerical"}, seed=0)
    engine.save(tmp_path)
    out = FastCopulaEngine.load(tmp_path).sample(400, seed=0)
    assert {type(v) for v in out["k"] if not pd.isna(v)} == {int, float, str, bool}
    assert out["k"].isna().any()


@pytest.mark.slow
def test_samples_a_million_rows_fast(fitted) -> None:
    import time

    start = time.process_time()
    out = fitted.sample(1_000_000, seed=0)
    assert len(out) == 1_000_000
    assert time.process_time() - start < 5.0  # ~0.6 s of CPU here; generous for loaded machines


def test_dependent_categoricals_keep_their_exact_conditional(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 3000
    role = rng.choice(np.array(["husband", "wife", "child", "single"], dtype=object), n)
    sex = np.where(role == "husband", "M", np.where(role == "wife", "F", rng.choice(np.array(["M", "F"]), n)))
    frame = pd.DataFrame({"role": role, "sex": sex.astype(object), "age": rng.normal(40, 10, n)})
    kinds = {"role": "categorical", "sex": "categorical", "age": "numerical"}
    engine = FastCopulaEngine().fit(frame, kinds=kinds, seed=0)
    assert engine.parents_ == {"sex": "role"}
    engine.save(tmp_path)
    out = FastCopulaEngine.load(tmp_path).sample(5000, seed=0)
    assert (out.loc[out["role"] == "husband", "sex"] == "M").all()
    assert (out.loc[out["role"] == "wife", "sex"] == "F").all()
    assert abs((out.loc[out["role"] == "child", "sex"] == "M").mean() - 0.5) < 0.05
    untied = FastCopulaEngine(tree_threshold=2.0).fit(frame, kinds=kinds, seed=0)
    assert untied.parents_ == {}


def test_rare_category_pairs_are_not_replayed_by_the_dependency_tree():
    import numpy as np
    import pandas as pd

    from synthstruct.synthesizers.fast_copula import FastCopulaEngine

    rng = np.random.default_rng(0)
    a = rng.choice(["x", "y", "z"], size=3000)
    b = np.array([{"x": "p", "y": "q", "z": "r"}[v] for v in a], dtype=object)  # b follows a exactly...
    b[:3] = "q"  # ...except three rows holding the rare pair (x, q)
    a[:3] = "x"
    frame = pd.DataFrame({"a": a, "b": b})
    kinds = {"a": "categorical", "b": "categorical"}

    def rare_pairs(engine):
        out = engine.fit(frame, kinds=kinds, seed=0).sample(50_000, seed=1)
        return int(((out["a"] == "x") & (out["b"] == "q")).sum())

    assert rare_pairs(FastCopulaEngine(min_pair_count=5)) == 0
    assert rare_pairs(FastCopulaEngine(min_pair_count=0)) > 0
