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


@pytest.fixture
def mixed(tmp_path):
    rng = np.random.RandomState(0)
    n = 40
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], n)})
    frame["b"] += frame["a"]
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    return frame, path


def _fit_tiny(path, out, *extra):
    return main(["fit", str(path), "-p", "max_epochs=2", "-p", "hidden_dims=[8]", "-p", "random_state=0", "--quiet",
                 *extra, "-o", str(out)])


def _one_line_error(capsys, *messages):
    err = capsys.readouterr().err
    assert "Traceback" not in err and len([line for line in err.splitlines() if "error" in line]) == 1, err
    for message in messages:
        assert message in err, err
    return err


def test_transform_with_a_method_the_model_lacks_names_the_methods_it_has(mixed, tmp_path, capsys):
    frame, path = mixed
    det = tmp_path / "det.skae"
    assert main(["fit", str(path), "--estimator", "AutoEncoderOutlierDetector", "-p", "estimator__max_epochs=1",
                 "-p", "estimator__hidden_dims=[4]", "--quiet", "-o", str(det)]) == 0
    capsys.readouterr()
    assert main(["transform", str(det), str(path)]) == 2  # the default method is transform
    _one_line_error(capsys, "AutoEncoderOutlierDetector, which has no transform method",
                    "--method score_samples or predict")
    imputer = skae.AutoEncoderImputer(skae.AutoEncoder(max_epochs=1, hidden_dims=[4], random_state=0)).fit(frame)
    skae.save(imputer, tmp_path / "imp.skae")
    assert main(["transform", str(tmp_path / "imp.skae"), str(path), "--method", "score_samples"]) == 2
    _one_line_error(capsys, "AutoEncoderImputer, which has no score_samples method; use --method transform.")


def test_semicolon_separated_csv_is_read_by_its_separator(mixed, tmp_path, capsys):
    frame, _ = mixed
    path, model = tmp_path / "semi.csv", tmp_path / "m.skae"
    frame.to_csv(path, index=False, sep=";")
    assert _fit_tiny(path, model) == 0
    err = capsys.readouterr().err
    assert "reading " + str(path) + " as separated by ';'" in err and "on 40 rows x 3 columns" in err, err
    assert list(skae.load(model).feature_names_in_) == ["a", "b", "c"]
    # a comma-separated file whose text holds semicolons stays comma-separated
    texts = frame.assign(c=frame["c"] + ";1")
    texts.to_csv(tmp_path / "texts.csv", index=False)
    assert _fit_tiny(tmp_path / "texts.csv", model) == 0
    assert "separated by" not in capsys.readouterr().err
    # a header that splits on ';' over rows that do not is named, not read as one column
    (tmp_path / "ragged.csv").write_text("a;b;c\n1;2;3\n4;5\n")
    assert _fit_tiny(tmp_path / "ragged.csv", model) == 2
    _one_line_error(capsys, "its header splits on ';'")


def test_csv_with_only_a_header_says_no_data_rows(tmp_path, capsys):
    path = tmp_path / "header.csv"
    path.write_text("a,b,c\n")
    assert _fit_tiny(path, tmp_path / "m.skae") == 2
    _one_line_error(capsys, f"no data rows in {path}")


def test_weights_file_renamed_to_joblib_says_what_it_is_and_how_to_load_it(mixed, tmp_path, capsys):
    _, path = mixed
    model = tmp_path / "m.skae"
    assert _fit_tiny(path, model) == 0
    renamed = tmp_path / "m.joblib"
    model.rename(renamed)
    capsys.readouterr()
    assert main(["transform", str(renamed), str(path), "--allow-pickle"]) == 2
    _one_line_error(capsys, "is a skae weights file", "rename it to end in .skae")
    renamed.write_bytes(b"not a pickle at all")
    assert main(["transform", str(renamed), str(path), "--allow-pickle"]) == 2
    _one_line_error(capsys, "is not a readable pickle")


def test_failed_table_write_leaves_the_earlier_output_intact(mixed, tmp_path, capsys, monkeypatch):
    import errno

    _, path = mixed
    model, out = tmp_path / "m.skae", tmp_path / "latent.csv"
    assert _fit_tiny(path, model) == 0
    out.write_text("earlier output\n")

    def disk_full(self, target, *args, **kwargs):
        with open(target, "w") as f:
            f.write("latent0,lat")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    assert main(["transform", str(model), str(path), "--out", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert out.read_text() == "earlier output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latent.csv", "m.skae", "mixed.csv"]
    monkeypatch.undo()
    assert main(["transform", str(model), str(path), "--out", str(out)]) == 0
    assert pd.read_csv(out).shape == (40, 2)


def test_repeated_column_names_in_a_csv_header_are_refused(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("a,a,b\n1,2,3\n4,5,6\n7,8,9\n")
    assert _fit_tiny(path, tmp_path / "m.skae") == 2
    _one_line_error(capsys, "the header names column(s) ['a'] more than once")


def test_binary_file_named_csv_is_not_a_text_table(tmp_path, capsys):
    for name, content in [("nul.csv", b"\x00\x01PK\x03\x04" * 50), ("emoji.csv", b"\xf0\x28\x8c\x28" * 50),
                          ("latin1.csv", "a,b\n1,été\n".encode("latin-1"))]:
        path = tmp_path / name
        path.write_bytes(content)
        assert _fit_tiny(path, tmp_path / "m.skae") == 2
        _one_line_error(capsys, f"{path} is not a UTF-8 text table")


def test_transform_warns_about_columns_the_model_was_not_fitted_on(mixed, tmp_path, capsys):
    frame, path = mixed
    model = tmp_path / "m.skae"
    assert _fit_tiny(path, model) == 0
    wider = tmp_path / "wider.csv"
    frame.assign(extra=1.0, more="q").to_csv(wider, index=False)
    capsys.readouterr()
    assert main(["transform", str(model), str(wider)]) == 0
    out, err = capsys.readouterr()
    assert "ignoring column(s) ['extra', 'more']" in err and "not fitted on them" in err, err
    assert pd.read_csv(__import__("io").StringIO(out)).shape == (40, 2)
    assert main(["transform", str(model), str(wider), "--drop", "extra", "more"]) == 0
    assert "ignoring" not in capsys.readouterr().err
    frame.drop(columns="b").to_csv(tmp_path / "narrow.csv", index=False)
    assert main(["transform", str(model), str(tmp_path / "narrow.csv")]) == 2
    _one_line_error(capsys, "lacks the model's column(s) ['b']")


def test_fit_reports_the_training_reconstruction_error_beside_the_mean_baseline(mixed, tmp_path, capsys):
    from sklearn.metrics import accuracy_score, mean_squared_error

    frame, path = mixed
    model = tmp_path / "m.skae"
    assert main(["fit", str(path), "-p", "max_epochs=30", "-p", "hidden_dims=[16]", "-p", "latent_dim=2",
                 "-p", "random_state=0", "--quiet", "-o", str(model)]) == 0
    line = next(x for x in capsys.readouterr().err.splitlines() if x.startswith("fitted "))
    assert "train loss" not in line
    rec = skae.load(model).reconstruct(frame)  # files give bit-identical outputs
    mse = np.mean([mean_squared_error(frame[c], rec[c]) / np.var(frame[c]) for c in ("a", "b")])
    right = accuracy_score(frame["c"], rec["c"])
    frequent = frame["c"].value_counts().max() / len(frame)
    assert f"numeric error {mse:.3g} (mean squared error / column variance; 1 = predicting the mean)" in line, line
    assert f"categories {100 * right:.1f}% right (always the most frequent: {100 * frequent:.1f}%)" in line, line
    assert mse < 1  # b is a + noise: the model beats the column means
