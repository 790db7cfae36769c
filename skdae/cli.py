"""Command line: ``skdae demo | train | evaluate | reconstruct | embed``.

Also ``python -m skdae ...``. ``train`` fits a model on a data set and writes
the model, ``metrics.json``, pictures and TensorBoard logs into ``--out``; the
other commands load such a model.
"""

import argparse
import copy
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import ConvDenoisingAutoencoder, DenoisingAutoencoder, __version__
from ._modules import ACTIVATIONS, DOWNSAMPLING
from ._noise import NOISE_TYPES
from ._model_file import MODEL_FILE, ModelFileError
from ._persistence import is_model_folder, load
from .callbacks import ReconstructionImages
from .datasets import load_mnist


class CLIError(Exception):
    """A user's mistake on the command line: one line on stderr, exit status 2."""


# ------------------------------------------------------------------ data


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_table(path, label_column=None):
    """``(X, y)`` from a ``.npy`` or ``.csv`` file; y is None without ``label_column``.

    A CSV file may start with a header row (detected: a field that is not a
    number); ``label_column`` is a header name or a 0-based column index.
    """
    names, table = None, None
    if path.suffix == ".npy":
        table = np.load(path)
        if table.ndim != 2:
            raise CLIError(
                f"{path} must hold a 2-D table (rows x features), got shape {table.shape}"
            )
        n_columns = table.shape[1]
    else:
        with path.open() as file:
            first = file.readline().strip().split(",")
        n_columns = len(first)
        if not all(map(_is_number, first)):
            names = [name.strip() for name in first]
    index = None
    if label_column is not None:
        if names and label_column in names:
            index = names.index(label_column)
        elif label_column.isdigit() and int(label_column) < n_columns:
            index = int(label_column)
        else:
            known = f"; its header is {names}" if names else ""
            raise CLIError(f"--label-column {label_column!r} is not a column of {path}{known}")
    features = [c for c in range(n_columns) if c != index]
    if table is not None:
        return table[:, features], None if index is None else table[:, index]
    read = dict(delimiter=",", skiprows=1 if names else 0, ndmin=2)
    try:
        X = np.loadtxt(path, usecols=features, **read)
        y = None if index is None else np.loadtxt(path, usecols=[index], dtype=str, **read)
    except ValueError as exc:
        raise CLIError(f"cannot read {path} as a table of numbers: {exc}") from None
    if y is not None:
        y = y.ravel()
        if all(map(_is_number, y)):
            y = y.astype(float)
            if (y == np.round(y)).all():
                y = y.astype(int)
    return X, y


def load_dataset(name, data_home=None, random_state=0, label_column=None):
    """``(X_train, y_train, X_test, y_test, image_shape)`` for a CLI data set.

    ``digits`` (scikit-learn's, split 75/25), ``mnist`` (its train and test
    files), or a ``.npy``/``.csv`` file of rows (split 80/20; labels from
    ``label_column``, else none).
    """

    if name == "digits":
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X / 16.0, y, test_size=0.25, random_state=random_state, stratify=y
        )
        return X_train, y_train, X_test, y_test, (8, 8)
    if name == "mnist":
        X_train, y_train = load_mnist(data_home, subset="train", return_X_y=True)
        X_test, y_test = load_mnist(data_home, subset="test", return_X_y=True)
        return X_train, y_train, X_test, y_test, (28, 28)
    path = Path(name)
    if path.suffix not in (".npy", ".csv"):
        raise CLIError(f"--dataset must be digits, mnist, or a .npy/.csv file; got {name!r}")
    if not path.is_file():
        raise CLIError(f"no such file: {path}")
    X, y = _read_table(path, label_column)
    if y is None:
        X_train, X_test = train_test_split(X, test_size=0.2, random_state=random_state)
        y_train = y_test = None
    else:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.2, random_state=random_state
        )
    side = int(round(np.sqrt(X.shape[1])))
    image_shape = (
        (side, side) if side * side == X.shape[1] and X.min() >= 0 and X.max() <= 1 else None
    )
    return X_train, y_train, X_test, y_test, image_shape


# ------------------------------------------------------------- estimator

ARCHITECTURES = ("fully_connected", "convolutional")

# --code-size's spelling of code_size=None: the code is the last feature map.
FEATURE_MAP_CODE = "none"


def _int_or(word, value):
    """An argparse type: a positive int, or ``word`` (standing for ``value``)."""

    def parse(text):
        if text.strip().lower() == word:
            return value
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a positive int or {word!r}, got {text!r}"
            ) from None

    return parse


_code_size = _int_or(FEATURE_MAP_CODE, FEATURE_MAP_CODE)
_batch_size = _int_or("auto", "auto")


# CLI option -> (estimator parameter, argparse keywords), per architecture
ARCHITECTURE_OPTIONS = {
    "fully_connected": {
        "--hidden-units": (
            "hidden_units",
            dict(type=int, nargs="+", metavar="N", help="encoder widths (fully_connected)"),
        ),
    },
    "convolutional": {
        "--channels": (
            "channels",
            dict(
                type=int,
                nargs="+",
                metavar="C",
                help="feature maps of the encoder's blocks, each halving the image (convolutional)",
            ),
        ),
        "--code-size": (
            "code_size",
            dict(
                type=_code_size,
                metavar="N|none",
                help="width of the code, a linear map of the last feature map; none: the "
                "code is the flattened last feature map itself (convolutional)",
            ),
        ),
        "--dense-units": (
            "dense_units",
            dict(
                type=int,
                nargs="+",
                metavar="N",
                help="fully connected layers between the last feature map and the code, "
                "mirrored in the decoder (convolutional)",
            ),
        ),
        "--kernel-size": (
            "kernel_size",
            dict(type=int, help="odd side of the kernels (convolutional)"),
        ),
        "--downsampling": (
            "downsampling",
            dict(
                choices=list(DOWNSAMPLING),
                help="how each block halves the image: a stride-2 convolution (stride), or "
                "two convolutions and a 2x2 max-pool (maxpool; the seed's network is "
                "--channels 16 8 8 --downsampling maxpool --code-size none) (convolutional)",
            ),
        ),
        "--image-shape": (
            "image_shape",
            dict(
                type=int,
                nargs="+",
                metavar="N",
                help="[channels] height width of a row (convolutional; default: the data "
                "set's, e.g. 28 28 for mnist)",
            ),
        ),
    },
}

# CLI option -> (estimator parameter, argparse keywords), for every architecture
ESTIMATOR_OPTIONS = {
    "--activation": (
        "activation",
        dict(choices=list(ACTIVATIONS), help="activation of the hidden layers"),
    ),
    "--dropout": ("dropout", dict(type=float, help="dropout probability after each hidden layer")),
    "--noise-factor": (
        "noise_factor",
        dict(type=float, help="gaussian: the noise's std; the other types: a probability"),
    ),
    "--noise-type": (
        "noise_type",
        dict(choices=sorted(NOISE_TYPES), help="the corruption"),
    ),
    "--loss": ("loss", dict(choices=["auto", "bce", "mse"], help="reconstruction loss")),
    "--weight-decay": ("weight_decay", dict(type=float, help="L2 penalty on the weights")),
    "--learning-rate": ("learning_rate", dict(type=float, help="Adam's initial learning rate")),
    "--lr-decay-steps": ("lr_decay_steps", dict(type=int, help="batches between LR decays")),
    "--lr-decay-rate": ("lr_decay_rate", dict(type=float, help="LR factor at each decay")),
    "--batch-size": (
        "batch_size",
        dict(type=_batch_size, metavar="N|auto", help="rows per training batch, or auto"),
    ),
    "--epochs": (
        "max_epochs",
        dict(type=int, help="the most passes over the training data (stops at convergence)"),
    ),
    "--device": ("device", dict(help="auto, cpu, cuda or cuda:N")),
    "--random-state": ("random_state", dict(type=int, help="seed of the whole fit")),
    "--early-stopping": (
        "early_stopping",
        dict(
            action="store_true", default=None, help="hold out rows, stop when they stop improving"
        ),
    ),
    "--validation-fraction": ("validation_fraction", dict(type=float, help="rows held out")),
    "--n-iter-no-change": (
        "n_iter_no_change",
        dict(type=int, help="epochs without improvement after which the fit has converged"),
    ),
    "--compile": (
        "compile",
        dict(action="store_true", default=None, help="train via torch.compile"),
    ),
    "--code-activation": (
        "code_activation",
        dict(
            choices=[*ACTIVATIONS, "linear"],
            help="the code layer's activation (default: --activation's)",
        ),
    ),
    "--batch-norm": (
        "batch_norm",
        dict(action="store_true", default=None, help="batch normalisation in hidden layers"),
    ),
    "--tol": ("tol", dict(type=float, help="loss improvement that counts, for convergence")),
    "--precision": (
        "precision",
        dict(
            choices=["float32", "bfloat16", "float16"],
            help="precision of training's matrix products (bfloat16: CPUs with AVX512-BF16 "
            "or AMX, recent GPUs; float16: GPUs)",
        ),
    ),
    "--data-placement": (
        "data_placement",
        dict(
            choices=["auto", "device", "stream"],
            help="X on the device once, or streamed a batch at a time from host memory "
            "(auto: stream on a GPU when X would take over half its free memory)",
        ),
    ),
    "--no-monitor": (
        "monitor",
        dict(
            action="store_false",
            default=None,
            help="record no gradient norm or activation statistics",
        ),
    ),
    "--checkpoint-dir": (
        "checkpoint_dir",
        dict(help="write a checkpoint after every epoch; a rerun resumes from it"),
    ),
}
# Set by train itself (verbose from -v, callbacks and tensorboard_dir from
# --images and --no-tensorboard) or meaningless for a fresh estimator.
# distributed: the command starts no process group (a data-parallel fit is a
# script's, under torchrun; see the guide's "Scaling out").
NOT_OPTIONS = {"verbose", "callbacks", "tensorboard_dir", "warm_start", "distributed"}


def _given(args, options):
    """``{parameter: value}`` of the options set on the command line."""
    values = {param: getattr(args, option[2:].replace("-", "_")) for option, (param, _) in options}
    return {
        param: tuple(value) if isinstance(value, list) else value
        for param, value in values.items()
        if value is not None
    }


def _estimator_from(args, image_shape=None):

    for other in ARCHITECTURES:
        misplaced = _given(args, ARCHITECTURE_OPTIONS[other].items())
        if other != args.architecture and misplaced:
            options = [o for o, (p, _) in ARCHITECTURE_OPTIONS[other].items() if p in misplaced]
            raise CLIError(
                f"{', '.join(options)} apply to --architecture {other}, not {args.architecture}"
            )
    params = _given(args, ESTIMATOR_OPTIONS.items())
    params.update(_given(args, ARCHITECTURE_OPTIONS[args.architecture].items()))
    if params.get("code_size") == FEATURE_MAP_CODE:
        params["code_size"] = None  # unset options are None too: hence the marker
    params["verbose"] = args.verbose
    if args.architecture == "fully_connected":
        return DenoisingAutoencoder(**params)
    params.setdefault("image_shape", image_shape)
    return ConvDenoisingAutoencoder(**params)


def _noisy_copy(estimator, X, seed=0):
    """X corrupted once by the model's own corruption, with a fixed seed."""

    corruption = estimator.net_.corruption
    if corruption is None:
        return np.asarray(X, dtype=np.float32)
    corruption = copy.copy(corruption).to("cpu")
    return corruption(
        torch.as_tensor(X, dtype=torch.float32), torch.Generator().manual_seed(seed)
    ).numpy()


def _rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a, dtype=np.float64) - b) ** 2)))


def _probe_accuracy(codes_train, y_train, codes_test, y_test):

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return float(probe.fit(codes_train, y_train).score(codes_test, y_test))


def _load_model(path):
    """``(model, run)``: the model, and what ``skdae train`` recorded of its run ({} if none)."""

    path = Path(path)
    if (path / "model").is_dir() and not (path / MODEL_FILE).is_file():
        path = path / "model"  # the --out folder of skdae train
    try:
        model = load(path)
    except ModelFileError as exc:
        raise CLIError(f"no model at {path}: {exc}") from None
    run_file = path.parent / "metrics.json"
    run = json.loads(run_file.read_text()) if run_file.is_file() else {}
    return model, run


def _data_for(model, run, args):
    """The data set of an evaluating command: --dataset, else the one the model trained on."""
    dataset = args.dataset or run.get("dataset")
    if dataset is None:
        raise CLIError(
            f"--dataset is needed: {args.model} has no metrics.json of skdae train saying "
            "which data set trained it"
        )
    label_column = args.label_column or run.get("label_column")
    data = load_dataset(dataset, args.data_home, label_column=label_column)
    if data[0].shape[1] != model.n_features_in_:
        trained = f" (it was trained on {run['dataset']})" if "dataset" in run else ""
        raise CLIError(
            f"the model takes rows of {model.n_features_in_} features{trained}, but "
            f"--dataset {dataset} has {data[0].shape[1]}"
        )
    return data


# --------------------------------------------------------------- commands


def _train(args):
    from .plotting import plot_latent_map, plot_learning_curve

    dataset = args.dataset or "mnist"
    X_train, y_train, X_test, y_test, image_shape = load_dataset(
        dataset, args.data_home, label_column=args.label_column
    )
    dae = _estimator_from(args, image_shape)
    out = _fresh_out(Path(args.out), args.overwrite)
    print(f"training {dae!r}\n  on {dataset}: {len(X_train)} train, {len(X_test)} test rows")
    callbacks = []
    if image_shape is not None and args.images > 0:
        callbacks.append(ReconstructionImages(X_test[: args.images], image_shape, out / "images"))
    tensorboard_dir = None
    if not args.no_tensorboard:
        try:
            import tensorboard  # noqa: F401

            tensorboard_dir = str(out / "tensorboard")
        except ImportError:
            print("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")
    dae.set_params(callbacks=callbacks, tensorboard_dir=tensorboard_dir)
    start = time.perf_counter()
    dae.fit(X_train)
    fit_seconds = time.perf_counter() - start
    dae.set_params(callbacks=None)  # the model file needs no picture writer

    metrics = _metrics(dae, X_test, y_test, X_train, y_train)
    metrics.update(
        # The epochs' own time (skorch's EpochTimer): training and validation, not the
        # pictures and logs that callbacks draw after each epoch (fit_seconds has those).
        train_seconds=round(sum(epoch["dur"] for epoch in dae.history_), 3),
        fit_seconds=round(fit_seconds, 3),
        epochs=dae.n_iter_,
        device=dae.device_,
        dataset=dataset,
        label_column=args.label_column,
        params=_readable_params(dae.fitted_model_.params),
    )
    dae.save(out / "model")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_learning_curve(dae.history_, path=out / "learning_curve.png")
    codes = dae.transform(X_test)
    plot_latent_map(codes, y_test, path=out / "latent_map.png", title=f"{dataset} test codes")
    if tensorboard_dir is not None and image_shape is not None:
        _write_projector(
            tensorboard_dir, codes[: args.embed], X_test[: args.embed], y_test, image_shape
        )
    _print_metrics(metrics)
    print(
        f"wrote {out}/: model/, metrics.json, learning_curve.png, latent_map.png"
        + (", images/" if callbacks else "")
        + (", tensorboard/" if tensorboard_dir else "")
    )
    return 0


# What skdae train writes into --out.
TRAIN_OUTPUTS = (
    "model",
    "metrics.json",
    "learning_curve.png",
    "latent_map.png",
    "images",
    "tensorboard",
)


# What each output of skdae train may hold: with --overwrite an earlier run's output
# is removed only when it holds nothing else (a folder of the user's is never deleted).
_OUTPUT_FILES = {
    "images": ("epoch_*.png", "reconstructions.gif"),
    "tensorboard": (
        "events.out.tfevents.*",
        "projector_config.pbtxt",
        "*/test_codes/metadata.tsv",
        "*/test_codes/sprite.png",
        "*/test_codes/tensors.tsv",
    ),
}


def _earlier_output(path):
    """Whether ``path`` (an entry of TRAIN_OUTPUTS in --out) is what skdae train wrote."""

    if path.is_symlink():  # removing it would remove what it points to, or fail
        return False
    if path.name == "model":
        return is_model_folder(path)
    if path.name not in _OUTPUT_FILES:
        return path.is_file() and not path.is_symlink()
    if not path.is_dir() or path.is_symlink():
        return False
    patterns = _OUTPUT_FILES[path.name]
    for entry in path.rglob("*"):
        if entry.is_symlink() or (
            entry.is_file() and not any(entry.relative_to(path).match(p) for p in patterns)
        ):
            return False
    return True


def _fresh_out(out, overwrite):
    """``out``, with no output of an earlier run in it (removed with ``overwrite``,
    but only where it holds nothing skdae train did not write)."""

    stale = [out / name for name in TRAIN_OUTPUTS if (out / name).exists()]
    if stale and not overwrite:
        raise CLIError(
            f"{out} holds the outputs of an earlier run ({', '.join(p.name for p in stale)}); "
            "pass --overwrite to replace them, or choose another --out"
        )
    foreign = [p for p in stale if not _earlier_output(p)]
    if foreign:
        raise CLIError(
            f"--overwrite replaces only what skdae train wrote, and {foreign[0]} holds other "
            "files; move them away, or choose another --out"
        )
    for path in stale:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def _readable_params(params):
    """The parameters a model was trained with, as plain JSON for metrics.json."""
    return {
        k: list(v)
        if isinstance(v, tuple)
        else v
        if isinstance(v, (int, float, str, type(None)))
        else str(v)
        for k, v in params.items()
        if k != "callbacks"
    }


def _metrics(dae, X_test, y_test, X_train=None, y_train=None):
    metrics = {
        "test_score": dae.score(X_test),
        "test_rmse": _rmse(dae.reconstruct(X_test), X_test),
    }
    if dae.net_.corruption is not None:  # the model's own noise, not the next fit's
        noisy = _noisy_copy(dae, X_test)
        metrics["test_noisy_input_rmse"] = _rmse(noisy, X_test)
        metrics["test_denoising_rmse"] = _rmse(dae.reconstruct(noisy), X_test)
    if y_train is not None and y_test is not None and X_train is not None:
        metrics["probe_accuracy"] = _probe_accuracy(
            dae.transform(X_train), y_train, dae.transform(X_test), y_test
        )
    return metrics


def _print_metrics(metrics):
    for key, value in metrics.items():
        if isinstance(value, float):
            print(f"{key:24s} {value:10.4f}")


def _write_projector(log_dir, codes, images, labels, image_shape):
    """The codes for TensorBoard's embedding projector, with labels and a sprite."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(log_dir))
    writer.add_embedding(
        torch.as_tensor(codes),
        metadata=None if labels is None else [int(v) for v in labels[: len(codes)]],
        label_img=torch.as_tensor(np.asarray(images, dtype=np.float32)).reshape(
            -1, 1, *image_shape
        ),
        tag="test_codes",
    )
    writer.close()


def _evaluate(args):
    dae, run = _load_model(args.model)
    X_train, y_train, X_test, y_test, _ = _data_for(dae, run, args)
    metrics = _metrics(dae, X_test, y_test, X_train if args.probe else None, y_train)
    _print_metrics(metrics)
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2) + "\n")
    return 0


def _reconstruct(args):
    from .plotting import plot_reconstructions

    dae, run = _load_model(args.model)
    _, _, X_test, _, image_shape = _data_for(dae, run, args)
    if image_shape is None:
        raise CLIError("reconstruct draws images; this data set has no image shape")
    clean = X_test[: args.n]
    noisy = _noisy_copy(dae, clean)
    plot_reconstructions(
        [clean, noisy, dae.reconstruct(noisy)],
        image_shape,
        path=args.out,
        titles=["clean", "noisy", "reconstructed"],
    )
    print(f"wrote {args.out}")
    return 0


def _embed(args):
    from .plotting import plot_latent_map

    dae, run = _load_model(args.model)
    _, _, X_test, y_test, image_shape = _data_for(dae, run, args)
    X, y = X_test[: args.n], None if y_test is None else y_test[: args.n]
    codes = dae.transform(X)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "codes.npy", codes)
    if y is not None:
        np.save(out / "labels.npy", y)
    plot_latent_map(codes, y, path=out / "latent_map.png")
    written = ["codes.npy", "latent_map.png"] + (["labels.npy"] if y is not None else [])
    try:
        import tensorboard  # noqa: F401

        if image_shape is not None:
            _write_projector(out / "tensorboard", codes, X, y, image_shape)
            written.append("tensorboard/ (projector)")
    except ImportError:
        pass
    print(f"wrote {out}/: " + ", ".join(written))
    return 0


def _demo(args):
    from .plotting import plot_reconstructions

    X_train, y_train, X_test, y_test, image_shape = load_dataset(
        "digits", random_state=args.random_state
    )
    # The estimator's defaults, but for the options given.
    chosen = dict(
        hidden_units=None if args.hidden_units is None else tuple(args.hidden_units),
        noise_factor=args.noise_factor,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
    )
    dae = DenoisingAutoencoder(
        **{k: v for k, v in chosen.items() if v is not None},
        device=args.device,
        random_state=args.random_state,
        verbose=args.verbose,
    )
    print(f"Training {dae!r}\n  on load_digits: {len(X_train)} train, {len(X_test)} test rows")
    start = time.perf_counter()
    dae.fit(X_train)
    train_seconds = time.perf_counter() - start

    rmse = _rmse(dae.reconstruct(X_test), X_test)
    X_noisy = _noisy_copy(dae, X_test, seed=args.random_state)
    denoised = dae.reconstruct(X_noisy)
    acc_codes = _probe_accuracy(dae.transform(X_train), y_train, dae.transform(X_test), y_test)
    acc_raw = _probe_accuracy(X_train, y_train, X_test, y_test)
    code_size = dae.get_feature_names_out().size

    epochs = f"{dae.n_iter_} epochs, {dae.device_}"
    print(f"train time                  {train_seconds:8.2f} s  ({epochs})")
    print(f"test reconstruction RMSE    {rmse:8.4f}")
    print(
        f"test denoising RMSE         {_rmse(denoised, X_test):8.4f}  "
        f"(noisy input: {_rmse(X_noisy, X_test):.4f})"
    )
    print(f"logistic regression accuracy on {code_size:3d} latent features  {acc_codes:.4f}")
    print(f"logistic regression accuracy on {X_test.shape[1]:3d} raw pixels       {acc_raw:.4f}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    picture = out / "reconstructions.png"
    plot_reconstructions(
        [X_test[:10], X_noisy[:10], denoised[:10]],
        image_shape,
        path=picture,
        titles=["clean", "noisy", "denoised"],
    )
    print(f"wrote {picture}")
    return 0


# ---------------------------------------------------------------- parser


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skdae", description="Denoising autoencoders for scikit-learn."
    )

    parser.add_argument("--version", action="version", version=f"skdae {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo",
        help="train on scikit-learn's digits, print metrics, draw reconstructions",
        description="Train a denoising autoencoder on load_digits (ships with "
        "scikit-learn), print the train time, the test reconstruction RMSE and "
        "the accuracy of a logistic regression on the latent features next to "
        "one on the raw pixels, and write a PNG of clean / noisy / denoised digits.",
    )
    demo.add_argument(
        "--hidden-units",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="encoder widths (default: the estimator's)",
    )
    demo.add_argument(
        "--noise-factor",
        type=float,
        default=None,
        help="std of the Gaussian corruption (default: the estimator's)",
    )
    demo.add_argument(
        "--epochs", type=int, default=None, help="max_epochs (default: the estimator's)"
    )
    demo.add_argument(
        "--batch-size", type=_batch_size, default=None, help="default: the estimator's"
    )
    demo.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    demo.add_argument("--random-state", type=int, default=0, help="default: 0")
    demo.add_argument(
        "--out", default="demo_output", help="folder for the picture (default: demo_output)"
    )
    demo.add_argument("-v", "--verbose", type=int, default=0, help="0 or 1 (default: 0)")
    demo.set_defaults(func=_demo)

    def data_options(sub, default_help):
        sub.add_argument(
            "--dataset",
            default=None,
            help=f"digits, mnist, or a .npy/.csv file of rows (default: {default_help})",
        )
        sub.add_argument(
            "--label-column",
            default=None,
            help="for a .csv/.npy file: the column of labels (a header name or a 0-based "
            "index), left out of the features and used by the probe",
        )
        sub.add_argument(
            "--data-home",
            default=None,
            help="folder holding mnist/ (default: $SKDAE_DATA, else ~/skdae_data)",
        )

    train = commands.add_parser(
        "train",
        help="fit a model; write it with metrics, pictures and TensorBoard logs",
        description="Fit a denoising autoencoder (fully connected, or convolutional for "
        "images) on a data set's training rows and write into "
        "--out: model/ (safe format: JSON + safetensors), metrics.json (test reconstruction "
        "and denoising RMSE, score, and "
        "the accuracy of a logistic-regression probe on the codes when there are labels), "
        "images/ (clean / noisy / reconstructed test images after every epoch, and a GIF), "
        "learning_curve.png, latent_map.png, and tensorboard/ when tensorboard is installed. "
        "Unset estimator options keep the estimator's defaults.",
    )
    data_options(train, "mnist")
    train.add_argument("--out", default="runs/latest", help="output folder (default: runs/latest)")
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the outputs of an earlier run in --out (default: refuse)",
    )
    train.add_argument(
        "--architecture",
        choices=ARCHITECTURES,
        default="fully_connected",
        help="DenoisingAutoencoder (fully_connected, the default) or "
        "ConvDenoisingAutoencoder (convolutional, for images)",
    )
    for option, (_, kwargs) in ESTIMATOR_OPTIONS.items():
        train.add_argument(option, **kwargs)
    for options in ARCHITECTURE_OPTIONS.values():
        for option, (_, kwargs) in options.items():
            train.add_argument(option, **kwargs)
    train.add_argument("--images", type=int, default=10, help="test images per picture (0: none)")
    train.add_argument("--embed", type=int, default=1000, help="test codes for the projector")
    train.add_argument("--no-tensorboard", action="store_true", help="write no TensorBoard logs")
    train.add_argument(
        "-v", "--verbose", type=int, default=1, help="0 silent, 1 progress (default)"
    )
    train.set_defaults(func=_train)

    evaluate = commands.add_parser("evaluate", help="metrics of a trained model on a test set")
    evaluate.add_argument(
        "--model", required=True, help="a model folder (skdae train's OUT/model), or OUT itself"
    )
    data_options(evaluate, "the data set the model was trained on")
    evaluate.add_argument(
        "--probe",
        action="store_true",
        help="also fit a logistic-regression probe on the training codes",
    )
    evaluate.add_argument("--json", help="also write the metrics to this file")
    evaluate.set_defaults(func=_evaluate)

    reconstruct = commands.add_parser("reconstruct", help="picture of N test images reconstructed")
    reconstruct.add_argument("--model", required=True)
    data_options(reconstruct, "the data set the model was trained on")
    reconstruct.add_argument("-n", type=int, default=10, help="images (default: 10)")
    reconstruct.add_argument("--out", default="reconstructions.png")
    reconstruct.set_defaults(func=_reconstruct)

    embed = commands.add_parser("embed", help="latent codes of N test images, map and projector")
    embed.add_argument("--model", required=True)
    data_options(embed, "the data set the model was trained on")
    embed.add_argument("-n", type=int, default=1000, help="rows (default: 1000)")
    embed.add_argument("--out", default="embedding")
    embed.set_defaults(func=_embed)
    return parser


def main(argv=None):
    """Run a command; a user's mistake prints one line on stderr and returns 2."""

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, ModelFileError, ValueError, FileNotFoundError) as exc:
        print(f"skdae: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
