"""SDV adapters: token encoding, value types, determinism, signed persistence."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthstruct.errors import InputError, ModelIntegrityError
from synthstruct.synthesizers.sdv_engines import SDVCTGANEngine, SDVGaussianCopulaEngine, SDVTVAEEngine


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, dict[str, str]]:
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(50, 10, n)
    frame = pd.DataFrame({
        "x": x,
        "y": np.where(rng.random(n) < 0.2, np.nan, x * 2 + rng.normal(0, 2, n)),
        "code": rng.choice(np.array([10, 20, 30], dtype=object), n),
        "city": rng.choice(np.array(["Lyon", "Oslo", np.nan], dtype=object), n),
    })
    return frame, {"x": "numerical", "y": "numerical", "code": "categorical", "city": "categorical"}


@pytest.fixture(scope="module")
def copula(frame) -> SDVGaussianCopulaEngine:
    data, kinds = frame
    return SDVGaussianCopulaEngine().fit(data, kinds=kinds, seed=0)


def test_import_does_not_pull_sdv_or_torch() -> None:
    import subprocess

    code = ("import sys, synthstruct.synthesizers.sdv_engines; "
            "print('sdv' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_categoricals_keep_python_types_and_training_values(frame, copula) -> None:
    data, _ = frame
    out = copula.sample(500, seed=1)
    assert {type(v) for v in out["code"]} == {int}
    assert set(out["code"]) <= {10, 20, 30}
    assert set(out["city"].dropna()) <= {"Lyon", "Oslo"} and out["city"].isna().any()
    assert out["x"].dtype == np.float64 and out["y"].isna().any()


def test_sdv_never_sees_values_or_column_names(copula) -> None:
    sdv_columns = list(copula.synthesizer_.get_metadata().to_dict()["tables"]["table"]["columns"])
    assert sdv_columns == ["x0", "x1", "x2", "x3"]


def test_seeded_sampling_is_reproducible(copula) -> None:
    pd.testing.assert_frame_equal(copula.sample(200, seed=3), copula.sample(200, seed=3))
    assert not copula.sample(200, seed=3).equals(copula.sample(200, seed=4))


def test_deep_engine_params_are_stored_and_passed() -> None:
    engine = SDVCTGANEngine(epochs=3, batch_size=20, verbose=True)
    assert engine.get_params() == {"epochs": 3, "batch_size": 20, "verbose": True}
    assert engine._synthesizer_kwargs() == {"epochs": 3, "batch_size": 20, "verbose": True, "enable_gpu": False}
    with pytest.raises(InputError):
        engine.set_params(learning_rate=1.0)


def test_saved_model_is_a_signed_pickle(copula, tmp_path: Path) -> None:
    copula.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["integrity.json", "model.pkl"]
    loaded = SDVGaussianCopulaEngine.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.sample(100, seed=2), copula.sample(100, seed=2))


def test_model_from_another_machine_is_refused(copula, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHSTRUCT_SECRET", raising=False)
    (tmp_path / "m").mkdir()
    copula.save(tmp_path / "m")
    monkeypatch.setenv("SYNTHSTRUCT_HOME", str(tmp_path / "other-machine"))
    with pytest.raises(ModelIntegrityError, match="run arbitrary code"):
        SDVGaussianCopulaEngine.load(tmp_path / "m")


def test_loading_with_the_wrong_class_is_refused(copula, tmp_path: Path) -> None:
    copula.save(tmp_path)
    with pytest.raises(ModelIntegrityError, match="another engine"):
        SDVTVAEEngine.load(tmp_path)


@pytest.mark.slow
def test_tvae_fit_is_deterministic(frame) -> None:
    data, kinds = frame
    a = SDVTVAEEngine(epochs=2, batch_size=50).fit(data, kinds=kinds, seed=5).sample(100, seed=1)
    b = SDVTVAEEngine(epochs=2, batch_size=50).fit(data, kinds=kinds, seed=5).sample(100, seed=1)
    pd.testing.assert_frame_equal(a, b)
