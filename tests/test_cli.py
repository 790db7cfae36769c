import argparse
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skdae.cli import build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"


def test_demo_prints_metrics_and_writes_the_picture(tmp_path, capsys):
    assert main(["demo", "--max-epochs", "3", "--out", str(tmp_path)]) == 0
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
    # As written but for the epochs: 2 instead of convergence keep this a smoke run of the
    # code (the figure the README quotes is from a full run, with its date).
    fit = "DenoisingAutoencoder(random_state=0)"
    assert fit in blocks[0]
    code = blocks[0].replace(fit, "DenoisingAutoencoder(random_state=0, max_epochs=2)")
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    assert "dae__hidden_units" in capsys.readouterr().out


def test_train_writes_model_metrics_pictures_and_logs(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            "digits",
            "--max-epochs",
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
                "--max-epochs",
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
def test_cli_errors_are_clear(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("skdae: error: ") and message in err and err.count("\n") == 1


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
        "--max-epochs",
        "--data-home",
        "--out",
    ]:
        assert option in out


def test_every_estimator_parameter_is_a_train_option(capsys):
    from skdae import ConvDenoisingAutoencoder, DenoisingAutoencoder
    from skdae._cli_options import NOT_OPTIONS

    params = set(DenoisingAutoencoder().get_params()) | set(ConvDenoisingAutoencoder().get_params())
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    missing = [p for p in params - NOT_OPTIONS if f"--{p.replace('_', '-')}" not in out]
    assert not missing


def _estimator_of(argv):
    """The estimator ``skdae train ARGV`` would fit."""
    from skdae.cli import _estimator

    args = build_parser().parse_args(["train", *argv])
    return _estimator(args, image_shape=(8, 8))


@pytest.mark.parametrize("name", ["activation", "code_activation", "noise_type", "loss"])
def test_each_value_the_estimator_takes_reaches_it_from_the_command_line(name):
    # The options are generated from _parameter_constraints: every value an
    # estimator accepts is accepted on the command line and arrives as itself.
    from sklearn.utils._param_validation import StrOptions

    from skdae import DenoisingAutoencoder

    constraints = DenoisingAutoencoder._parameter_constraints[name]
    values = {v for c in constraints if isinstance(c, StrOptions) for v in c.options}
    values |= {None} if None in constraints else set()
    assert values
    option = f"--{name.replace('_', '-')}"
    for value in values:
        text = "none" if value is None else value
        assert _estimator_of([option, text]).get_params()[name] == value


def test_numbers_words_and_lists_reach_the_estimator_as_their_types():
    dae = _estimator_of(["--batch-size", "auto", "--max-epochs", "3", "--dropout", "0.25"])
    assert (dae.batch_size, dae.max_epochs, dae.dropout) == ("auto", 3, 0.25)
    dae = _estimator_of(["--batch-size", "64", "--max-epochs", "2", "--hidden-units", "8", "2"])
    assert (dae.batch_size, dae.max_epochs, dae.hidden_units) == (64, 2, (8, 2))
    dae = _estimator_of(["--no-monitor", "--early-stopping", "--random-state", "7"])
    assert (dae.monitor, dae.early_stopping, dae.random_state) == (False, True, 7)
    conv = _estimator_of(["--architecture", "convolutional", "--code-size", "none"])
    assert conv.code_size is None and conv.image_shape == (8, 8)


def test_train_convolutional_uses_the_data_sets_image_shape(tmp_path, capsys):
    out = tmp_path / "conv"
    argv = ["train", "--dataset", "digits", "--architecture", "convolutional"]
    argv += ["--channels", "4", "8", "--code-size", "6", "--max-epochs", "1", "--images", "3"]
    argv += ["--no-tensorboard", "--verbose", "0", "--out", str(out)]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["params"]["channels"] == [4, 8]
    assert metrics["params"]["image_shape"] == [8, 8]
    assert "probe_accuracy" in metrics
    assert main(["evaluate", "--model", str(out), "--dataset", "digits"]) == 0
    assert "test_rmse" in capsys.readouterr().out


def test_options_of_the_other_architecture_are_refused(tmp_path, capsys):
    argv = ["train", "--dataset", "digits", "--channels", "4", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "--channels apply to --architecture convolutional" in capsys.readouterr().err
    argv = ["train", "--dataset", "digits", "--architecture", "convolutional"]
    assert main([*argv, "--hidden-units", "8", "--out", str(tmp_path)]) == 2
    assert "--hidden-units apply to --architecture fully_connected" in capsys.readouterr().err


def test_train_convolutional_maxpool_with_the_feature_map_as_code(tmp_path, capsys):
    out = tmp_path / "seed"
    argv = ["train", "--dataset", "digits", "--architecture", "convolutional"]
    argv += ["--channels", "4", "8", "--downsampling", "maxpool", "--code-size", "none"]
    argv += ["--max-epochs", "1", "--images", "0", "--no-tensorboard", "--verbose", "0"]
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
    assert "expected an int or 'none'" in capsys.readouterr().err


def test_batch_size_auto_on_the_command_line():
    from skdae.cli import build_parser

    args = build_parser().parse_args(["train", "--batch-size", "auto"])
    assert args.batch_size == "auto"
    assert build_parser().parse_args(["train", "--batch-size", "64"]).batch_size == 64


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A tiny model trained by ``skdae train`` on digits: its --out folder."""
    out = tmp_path_factory.mktemp("cli") / "run"
    argv = ["train", "--dataset", "digits", "--max-epochs", "2", "--hidden-units", "16", "4"]
    argv += ["--images", "2", "--no-tensorboard", "--verbose", "0", "--out", str(out)]
    assert main(argv) == 0
    return out


def test_evaluate_reconstruct_and_embed_default_to_the_models_data_set(digits_run, tmp_path):
    assert main(["evaluate", "--model", str(digits_run)]) == 0
    assert main(["embed", "--model", str(digits_run / "model"), "--out", str(tmp_path)]) == 0
    assert np.load(tmp_path / "codes.npy").shape[1] == 4
    picture = tmp_path / "r.png"
    assert main(["reconstruct", "--model", str(digits_run), "-n", "2", "--out", str(picture)]) == 0


def test_another_data_set_than_the_models_is_a_one_line_error(digits_run, tmp_path, capsys):
    rows = np.random.default_rng(0).uniform(size=(20, 5))
    np.save(tmp_path / "rows.npy", rows)
    assert (
        main(["evaluate", "--model", str(digits_run), "--dataset", str(tmp_path / "rows.npy")]) == 2
    )
    err = capsys.readouterr().err
    assert "takes rows of 64 features (it was trained on digits)" in err and err.count("\n") == 1


def test_user_mistakes_exit_2_with_one_line(digits_run, tmp_path, capsys):
    import torch

    if not torch.cuda.is_available():
        argv = ["train", "--dataset", "digits", "--device", "cuda", "--max-epochs", "1"]
        assert main([*argv, "--out", str(tmp_path / "gpu")]) == 2
        err = capsys.readouterr().err
        assert "sees no CUDA GPU" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as excinfo:  # argparse's own: exit 2, usage and one line
        main(["train", "--activation", "Relu"])
    assert excinfo.value.code == 2
    assert "invalid choice: 'Relu'" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(tmp_path / "missing")]) == 2
    assert "no model at" in capsys.readouterr().err


def test_a_reused_out_folder_is_refused_unless_overwrite(digits_run, tmp_path, capsys):
    import shutil

    out = tmp_path / "again"
    shutil.copytree(digits_run, out)
    (out / "images" / "epoch_009.png").write_bytes(b"stale")
    argv = ["train", "--dataset", "digits", "--max-epochs", "1", "--hidden-units", "8", "2"]
    argv += ["--images", "2", "--no-tensorboard", "--verbose", "0", "--out", str(out)]
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert not (out / "images" / "epoch_009.png").exists()
    assert sorted(p.name for p in (out / "images").glob("epoch_*.png")) == ["epoch_001.png"]


@pytest.mark.parametrize("folder", ["images", "model", "tensorboard"])
def test_overwrite_never_deletes_files_skdae_did_not_write(digits_run, tmp_path, capsys, folder):
    import shutil

    out = tmp_path / "again"
    shutil.copytree(digits_run, out)
    (out / folder).mkdir(exist_ok=True)
    (out / folder / "notes.txt").write_text("mine")
    argv = ["train", "--dataset", "digits", "--max-epochs", "1", "--hidden-units", "8", "2"]
    argv += ["--no-tensorboard", "--verbose", "0", "--out", str(out), "--overwrite"]
    assert main(argv) == 2
    assert f"{out / folder} holds other files" in capsys.readouterr().err
    assert (out / folder / "notes.txt").read_text() == "mine"
    # Refused before anything was removed: the earlier run's outputs are all there.
    assert {p.name for p in out.iterdir()} == {p.name for p in digits_run.iterdir()} | {folder}


def test_train_seconds_time_the_epochs_not_the_pictures(tmp_path, monkeypatch):
    # Pictures that take 0.3 s an epoch: fit_seconds has them, train_seconds not.
    import time

    from skdae.callbacks import ReconstructionImages

    original = ReconstructionImages.on_epoch_end

    def slow(self, net, **kwargs):
        time.sleep(0.3)
        return original(self, net, **kwargs)

    monkeypatch.setattr(ReconstructionImages, "on_epoch_end", slow)
    argv = ["train", "--dataset", "digits", "--max-epochs", "2", "--hidden-units", "8", "2"]
    argv += ["--images", "2", "--no-tensorboard", "--verbose", "0", "--out", str(tmp_path)]
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs"] == 2
    assert metrics["fit_seconds"] - metrics["train_seconds"] >= 0.6
    assert 0 < metrics["train_seconds"]


def test_reconstruct_views_a_conv_models_rows_as_it_does(tmp_path, capsys):
    # A model that views 64 values as 1 x 4 x 16 images draws them so, not as 8 x 8.
    rows = np.random.default_rng(0).uniform(size=(80, 64))
    np.save(tmp_path / "rows.npy", rows)
    out = tmp_path / "run"
    argv = ["train", "--dataset", str(tmp_path / "rows.npy"), "--architecture", "convolutional"]
    argv += ["--image-shape", "4", "16", "--channels", "2", "--code-size", "3", "--max-epochs", "1"]
    argv += ["--images", "0", "--no-tensorboard", "--verbose", "0", "--out", str(out)]
    assert main(argv) == 0
    from skdae import cli

    model, run = cli._load_model(out)
    args = build_parser().parse_args(["reconstruct", "--model", str(out)])
    assert cli._data_for(model, run, args)[4] == (4, 16)
    assert main(["reconstruct", "--model", str(out), "--out", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").is_file()


def test_a_bug_shows_its_traceback_not_one_line(monkeypatch, tmp_path):
    from skdae import cli

    def broken(*args, **kwargs):
        raise ValueError("a bug in skdae")

    monkeypatch.setattr(cli, "_metrics", broken)
    argv = ["train", "--dataset", "digits", "--max-epochs", "1", "--hidden-units", "4"]
    argv += ["--images", "0", "--no-tensorboard", "--verbose", "0", "--out", str(tmp_path)]
    with pytest.raises(ValueError, match="a bug in skdae"):
        main(argv)


def test_a_csv_with_a_header_and_a_named_label_column(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.uniform(size=(120, 4))
    labels = (rows[:, 0] > 0.5).astype(int)
    lines = ["a,b,label,c,d"] + [
        f"{r[0]},{r[1]},{y},{r[2]},{r[3]}" for r, y in zip(rows, labels, strict=True)
    ]
    (tmp_path / "table.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    argv = ["train", "--dataset", str(tmp_path / "table.csv"), "--label-column", "label"]
    argv += ["--max-epochs", "1", "--hidden-units", "3", "--no-tensorboard", "--verbose", "0"]
    assert main([*argv, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "probe_accuracy" in metrics and metrics["label_column"] == "label"
    assert json.loads((out / "model" / "model.json").read_text())["fitted"]["n_features_in_"] == 4
    assert main(["evaluate", "--model", str(out), "--probe"]) == 0  # the same columns again


def test_version(capsys):
    from skdae import __version__

    with pytest.raises(SystemExit) as excinfo:
        main(["--version"])
    assert excinfo.value.code == 0
    assert capsys.readouterr().out.strip() == f"skdae {__version__}"


def _subcommand_parsers():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, commands.choices


def test_no_parser_guesses_an_abbreviated_option(capsys):
    parser, subcommands = _subcommand_parsers()
    assert not parser.allow_abbrev
    assert all(not sub.allow_abbrev for sub in subcommands.values())
    with pytest.raises(SystemExit) as stop:
        main(["train", "--dataset", "digits", "--hidden", "8", "--max-ep", "1"])
    assert stop.value.code == 2
    assert "unrecognized arguments: --hidden 8 --max-ep 1" in capsys.readouterr().err


def test_every_subcommand_says_what_it_does_and_every_option_has_help():
    _, subcommands = _subcommand_parsers()
    for name, sub in subcommands.items():
        description = sub.description or ""
        # A sentence: a capital letter first, a full stop last, and what it writes or prints.
        assert re.match(r"[A-Z].*\.$", description, re.S), (name, description)
        assert re.search(r"\b(write|writes|print|prints)\b", description), (name, description)
        for action in sub._actions:
            assert action.help, (name, action.option_strings)


def test_epochs_is_a_deprecated_spelling_that_says_so(capsys):
    args = build_parser().parse_args(["train", "--epochs", "3"])
    assert args.max_epochs == 3
    assert "--epochs is deprecated" in capsys.readouterr().err
    assert build_parser().parse_args(["train", "--max-epochs", "3"]).max_epochs == 3
    assert capsys.readouterr().err == ""


def test_missing_mnist_names_the_command_lines_way_out(tmp_path, capsys):
    argv = ["train", "--dataset", "mnist", "--data-home", str(tmp_path), "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--download" in err and str(tmp_path / "mnist") in err


def test_the_seed_of_every_run_is_recorded_and_repeats_the_run(tmp_path):
    base = ["train", "--dataset", "digits", "--max-epochs", "2", "--hidden-units", "8", "2"]
    base += ["--images", "0", "--no-tensorboard", "--verbose", "0"]
    assert main([*base, "--out", str(tmp_path / "first")]) == 0
    first = json.loads((tmp_path / "first" / "metrics.json").read_text())
    seed = first["random_state"]
    assert isinstance(seed, int)  # drawn, since none was given
    assert main([*base, "--random-state", str(seed), "--out", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    for key in ("test_rmse", "test_denoising_rmse", "probe_accuracy"):
        assert again[key] == first[key], key
