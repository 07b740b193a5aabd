"""The command line: plugins, fit and transform on CSV/Parquet, clear errors."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import skae
from skae.cli import main


@pytest.fixture
def table(tmp_path):
    frame = load_breast_cancer(as_frame=True).frame.iloc[:200]
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return frame, path


def test_help_everywhere():
    for args in ([], ["fit"], ["transform"], ["plugins"]):
        out = subprocess.run([sys.executable, "-m", "skae", *args, "--help"], capture_output=True, text=True)
        assert out.returncode == 0 and "usage: skae" in out.stdout


def test_fit_then_transform_csv(table, tmp_path, capsys):
    frame, path = table
    model, latent = tmp_path / "m.skae", tmp_path / "latent.csv"
    assert main(["fit", str(path), "-p", "latent_dim=3", "-p", "max_epochs=4", "-p", "hidden_dims=[16]",
                 "-p", "random_state=0", "--columns", "mean radius", "mean texture", "mean area",
                 "--out", str(model)]) == 0
    assert "fitted AutoEncoder on 200 rows x 3 columns, 4 epochs" in capsys.readouterr().err
    assert main(["transform", str(model), str(path), "--out", str(latent)]) == 0
    codes = pd.read_csv(latent)
    assert list(codes.columns) == ["latent0", "latent1", "latent2"] and len(codes) == 200
    expected = skae.load(model).transform(frame[["mean radius", "mean texture", "mean area"]])
    np.testing.assert_allclose(codes.to_numpy(), expected, rtol=1e-12)


def test_detector_and_conditional_from_the_command_line(table, tmp_path, capsys):
    _, path = table
    det = tmp_path / "det.joblib"
    assert main(["fit", str(path), "--estimator", "AutoEncoderOutlierDetector", "-p", "contamination=0.1",
                 "-p", "estimator__max_epochs=3", "--out", str(det)]) == 0
    capsys.readouterr()
    assert main(["transform", str(det), str(path), "--method", "predict", "--allow-pickle"]) == 0
    pred = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))["prediction"]
    assert set(pred) == {-1, 1} and (pred == -1).sum() == 20
    cvae = tmp_path / "cvae.skae"
    assert main(["fit", str(path), "--estimator", "ConditionalVAE", "--target", "target",
                 "-p", "max_epochs=2", "--out", str(cvae)]) == 0
    capsys.readouterr()
    assert main(["transform", str(cvae), str(path), "--target", "target"]) == 0
    with_target = capsys.readouterr().out
    assert with_target.startswith("latent0,latent1\n")
    # the condition stored at fit is used without --target, and dropping it (it is never a feature) is harmless
    for extra in ([], ["--drop", "target"]):
        assert main(["transform", str(cvae), str(path), *extra]) == 0
        assert capsys.readouterr().out == with_target


def test_parquet_round_trip(table, tmp_path):
    pytest.importorskip("pyarrow")
    frame, _ = table
    src, model, out = tmp_path / "d.parquet", tmp_path / "m.skae", tmp_path / "z.parquet"
    frame.to_parquet(src)
    assert main(["fit", str(src), "-p", "max_epochs=2", "--out", str(model)]) == 0
    assert main(["transform", str(model), str(src), "--out", str(out)]) == 0
    assert pd.read_parquet(out).shape == (200, 2)


def test_errors_are_one_line_messages(table, tmp_path, capsys):
    _, path = table
    cases = [
        (["fit", str(path), "-p", "latent_dim=-1", "-o", str(tmp_path / "x.skae")], "'latent_dim' parameter"),
        (["fit", str(path), "--estimator", "PCA", "-o", str(tmp_path / "x.skae")], "unknown estimator 'PCA'"),
        (["fit", str(path), "-p", "latent_dim", "-o", str(tmp_path / "x.skae")], "NAME=VALUE"),
        (["fit", str(path), "--columns", "nope", "-o", str(tmp_path / "x.skae")], "no column(s) ['nope']"),
        (["fit", str(tmp_path / "data.xlsx"), "-o", str(tmp_path / "x.skae")], "use a .csv"),
        (["transform", str(tmp_path / "none.skae"), str(path)], "No model file"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err


def test_fit_warns_about_columns_that_look_like_an_id_or_a_label_and_not_about_counts(tmp_path, capsys):
    rng = np.random.RandomState(0)
    n = 60
    frame = pd.DataFrame({"row": np.arange(n), "x": rng.normal(size=n), "children": rng.randint(0, 5, n),
                          "target": rng.randint(0, 3, n), "flag": rng.randint(0, 2, n)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fit", str(tmp_path / "t.csv"), "-p", "max_epochs=1", "--quiet", "-o", str(tmp_path / "m.skae")]) == 0
    warning = next(line for line in capsys.readouterr().err.splitlines() if "look like an id" in line)
    assert "'row'" in warning and "'target'" in warning and "'flag'" in warning
    assert "'children'" not in warning and "'x'" not in warning
    assert main(["fit", str(tmp_path / "t.csv"), "--drop", "row", "target", "flag", "-p", "max_epochs=1", "--quiet",
                 "-o", str(tmp_path / "m.skae")]) == 0
    assert "look like an id" not in capsys.readouterr().err
