import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skdae.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def test_demo_prints_metrics_and_writes_the_picture(tmp_path, capsys):
    assert main(["demo", "--epochs", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for label in ["train time", "reconstruction RMSE", "latent features", "raw pixels"]:
        assert label in out
    accuracy = float(re.search(r"latent features\s+([0-9.]+)", out).group(1))
    assert 0.1 < accuracy <= 1.0
    picture = tmp_path / "reconstructions.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_python_dash_m_skdae_shows_help():
    result = subprocess.run(
        [sys.executable, "-m", "skdae", "demo", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--noise-factor" in result.stdout


def test_unknown_command_is_an_error(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["fly"])
    assert excinfo.value.code == 2


def test_readme_example_runs_as_written(capsys):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    exec(compile(blocks[0], str(README), "exec"), {"__name__": "__readme__"})
    assert "dae__hidden_units" in capsys.readouterr().out


def test_train_writes_model_metrics_pictures_and_logs(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            "digits",
            "--epochs",
            "2",
            "--hidden-units",
            "16",
            "4",
            "--images",
            "4",
            "--out",
            str(out),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "model",
        "metrics.json",
        "learning_curve.png",
        "latent_map.png",
        "images",
    } <= names
    assert len(list((out / "images").glob("epoch_*.png"))) == 2
    assert (out / "images" / "reconstructions.gif").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2
    assert 0 < metrics["test_denoising_rmse"] < metrics["test_noisy_input_rmse"] + 1
    assert 0.1 < metrics["probe_accuracy"] <= 1
    assert metrics["params"]["hidden_units"] == [16, 4]
    if importlib.util.find_spec("tensorboard"):
        assert list((out / "tensorboard").rglob("events.out.tfevents.*"))
        assert list((out / "tensorboard").rglob("projector_config.pbtxt"))

    capsys.readouterr()
    assert main(["evaluate", "--model", str(out), "--dataset", "digits"]) == 0
    assert "test_rmse" in capsys.readouterr().out
    picture = tmp_path / "rec.png"
    assert (
        main(
            [
                "reconstruct",
                "--model",
                str(out),
                "--dataset",
                "digits",
                "-n",
                "3",
                "--out",
                str(picture),
            ]
        )
        == 0
    )
    assert picture.read_bytes()[:4] == b"\x89PNG"
    assert (
        main(
            [
                "embed",
                "--model",
                str(out / "model"),
                "--dataset",
                "digits",
                "-n",
                "50",
                "--out",
                str(tmp_path / "emb"),
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "emb" / "codes.npy").shape == (50, 4)


def test_train_on_a_npy_file(tmp_path, capsys):
    rows = np.random.default_rng(0).normal(size=(100, 5))
    np.save(tmp_path / "rows.npy", rows)
    assert (
        main(
            [
                "train",
                "--dataset",
                str(tmp_path / "rows.npy"),
                "--epochs",
                "1",
                "--hidden-units",
                "3",
                "--out",
                str(tmp_path / "run"),
                "--no-tensorboard",
                "--verbose",
                "0",
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "probe_accuracy" not in metrics  # no labels


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--dataset", "table.txt"], "must be digits, mnist, or a .npy/.csv"),
        (["train", "--dataset", "missing.npy"], "no such file"),
        (["evaluate", "--model", "nowhere", "--dataset", "digits"], "no model at"),
    ],
)
def test_cli_errors_are_clear(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=message):
        main(argv)


def test_train_help_explains_every_estimator_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for option in [
        "--hidden-units",
        "--noise-factor",
        "--dropout",
        "--learning-rate",
        "--weight-decay",
        "--batch-size",
        "--epochs",
        "--data-home",
        "--out",
    ]:
        assert option in out


def test_every_estimator_parameter_is_a_train_option(capsys):
    from skdae import ConvDenoisingAutoencoder, DenoisingAutoencoder
    from skdae.cli import ARCHITECTURE_OPTIONS, ESTIMATOR_OPTIONS, NOT_OPTIONS

    options = {param: option for option, (param, _) in ESTIMATOR_OPTIONS.items()}
    for architecture_options in ARCHITECTURE_OPTIONS.values():
        options.update({param: option for option, (param, _) in architecture_options.items()})
    params = set(DenoisingAutoencoder().get_params()) | set(ConvDenoisingAutoencoder().get_params())
    assert params - NOT_OPTIONS == set(options)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert all(option in out for option in options.values())


def test_train_convolutional_uses_the_data_sets_image_shape(tmp_path, capsys):
    out = tmp_path / "conv"
    argv = ["train", "--dataset", "digits", "--architecture", "convolutional"]
    argv += ["--channels", "4", "8", "--code-size", "6", "--epochs", "1", "--images", "3"]
    argv += ["--no-tensorboard", "--verbose", "0", "--out", str(out)]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["params"]["channels"] == [4, 8]
    assert metrics["params"]["image_shape"] == [8, 8]
    assert "probe_accuracy" in metrics
    assert main(["evaluate", "--model", str(out), "--dataset", "digits"]) == 0
    assert "test_rmse" in capsys.readouterr().out


def test_options_of_the_other_architecture_are_refused(tmp_path):
    argv = ["train", "--dataset", "digits", "--channels", "4", "--out", str(tmp_path)]
    with pytest.raises(SystemExit, match="--channels apply to --architecture convolutional"):
        main(argv)
    argv = ["train", "--dataset", "digits", "--architecture", "convolutional"]
    with pytest.raises(SystemExit, match="--hidden-units apply to --architecture fully_connected"):
        main([*argv, "--hidden-units", "8", "--out", str(tmp_path)])


def test_train_convolutional_maxpool_with_the_feature_map_as_code(tmp_path, capsys):
    out = tmp_path / "seed"
    argv = ["train", "--dataset", "digits", "--architecture", "convolutional"]
    argv += ["--channels", "4", "8", "--downsampling", "maxpool", "--code-size", "none"]
    argv += ["--epochs", "1", "--images", "0", "--no-tensorboard", "--verbose", "0"]
    assert main([*argv, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["params"]["downsampling"] == "maxpool"
    assert metrics["params"]["code_size"] is None
    embed = ["embed", "--model", str(out), "--dataset", "digits", "-n", "20"]
    assert main([*embed, "--out", str(tmp_path / "emb")]) == 0
    assert np.load(tmp_path / "emb" / "codes.npy").shape == (20, 8 * 2 * 2)


def test_code_size_must_be_an_int_or_none(tmp_path, capsys):
    argv = ["train", "--dataset", "digits", "--architecture", "convolutional"]
    with pytest.raises(SystemExit) as excinfo:
        main([*argv, "--code-size", "auto", "--out", str(tmp_path)])
    assert excinfo.value.code == 2
    assert "expected a positive int or 'none'" in capsys.readouterr().err


def test_code_activation_choices_are_the_estimators():
    from skdae._modules import ACTIVATIONS
    from skdae.cli import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    (action,) = [a for a in train._actions if "--code-activation" in a.option_strings]
    assert sorted(action.choices) == sorted([*ACTIVATIONS, "linear"])


def test_batch_size_auto_on_the_command_line():
    from skdae.cli import build_parser

    args = build_parser().parse_args(["train", "--batch-size", "auto"])
    assert args.batch_size == "auto"
    assert build_parser().parse_args(["train", "--batch-size", "64"]).batch_size == 64
