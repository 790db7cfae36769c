"""Command line: ``skdae demo | train | evaluate | reconstruct | embed``.

Also ``python -m skdae ...``. ``train`` fits a model on a data set and writes
the model, ``metrics.json``, pictures and TensorBoard logs into ``--out``; the
other commands load such a model. A thin layer: ``train``'s estimator options
are generated from the estimators' ``_parameter_constraints`` and docstrings,
the metrics come from ``skdae.metrics``, the readers from ``skdae.datasets``.
A user's mistake prints one line and exits with status 2; a bug shows its
traceback.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError

from ._cli_options import add_aliases, estimator_options
from ._conv import ConvDenoisingAutoencoder
from ._data import value_range
from ._estimator import DenoisingAutoencoder
from ._files import holds_only, remove_outputs
from ._model_file import MODEL_FILE, ModelFileError
from ._net import TrainingDivergedError
from ._persistence import is_model_folder, load
from ._runtime import check_precision, resolve_device
from ._training import resolve_loss
from ._version import __version__
from .callbacks import ReconstructionImages, tensorboard_installed, write_projector
from .datasets import get_data_home, load_train_test
from .metrics import corrupted_copy, probe_accuracy
from .plotting import plot_latent_map, plot_learning_curve, plot_reconstructions


class CLIError(Exception):
    """A user's mistake on the command line: one line on stderr, exit status 2."""


# Mistakes a user can fix from the command line: one line, exit status 2.
USER_ERRORS = (
    CLIError,
    ModelFileError,
    InvalidParameterError,
    TrainingDivergedError,
    FileExistsError,
    FileNotFoundError,
)

ARCHITECTURES = {"fully_connected": DenoisingAutoencoder, "convolutional": ConvDenoisingAutoencoder}


def _estimator(args, image_shape, X=None):
    """The estimator the options ask for, its parameters checked (against X when given)
    before any work: what the estimator would refuse is a one-line error."""
    cls = ARCHITECTURES[args.architecture]
    given = {n: v for n, v in vars(args).items() if n in OPTIONS}
    misplaced = [OPTIONS[n][0][0] for n in given if cls not in OPTIONS[n][2]]
    if misplaced:
        other = next(a for a, c in ARCHITECTURES.items() if c is not cls)
        raise CLIError(
            f"{', '.join(misplaced)} apply to --architecture {other}, not {args.architecture}"
        )
    given = {n: tuple(v) if isinstance(v, list) else v for n, v in given.items()}
    if cls is ConvDenoisingAutoencoder:
        given.setdefault("image_shape", image_shape)
    estimator = cls(**given, verbose=args.verbose)
    estimator._validate_params()
    try:
        check_precision(estimator.precision, resolve_device(estimator.device))
        if X is not None:
            estimator._check_params(*X.shape)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # fit gives loss="auto"'s warning itself
                resolve_loss(estimator.get_params(), *value_range(X))
    except ValueError as exc:
        raise CLIError(exc) from None
    return estimator


# ------------------------------------------------------------ data
def load_dataset(name, data_home=None, random_state=0, label_column=None, download=False):
    """``skdae.datasets.load_train_test``, its refusals as one-line errors."""
    try:
        return load_train_test(name, data_home, random_state, label_column, download)
    except (ValueError, FileNotFoundError) as exc:
        if name == "mnist" and isinstance(exc, FileNotFoundError):
            # load_mnist's advice names Python arguments; a shell user has options.
            folder = get_data_home(data_home) / "mnist"
            raise CLIError(
                f"MNIST's files are not in {folder}: pass --download to fetch them (about 11 "
                "MB), or --data-home (or $SKDAE_DATA) naming a folder that holds mnist/"
            ) from None
        # One line: a failed download lists each mirror's error on a line of its own.
        raise CLIError("; ".join(line.strip() for line in str(exc).splitlines())) from None


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
    try:
        return model, json.loads(run_file.read_text()) if run_file.is_file() else {}
    except ValueError as exc:
        raise CLIError(f"{run_file} is not the metrics.json skdae train writes: {exc}") from None


def _data_for(model, run, args):
    """The data of an evaluating command: --dataset, else the one the model trained on;
    the image shape a conv model views its rows as, else the data set's."""
    dataset = args.dataset or run.get("dataset")
    if dataset is None:
        raise CLIError(f"--dataset is needed: {args.model} has no metrics.json saying its data set")
    data = load_dataset(
        dataset,
        args.data_home,
        label_column=args.label_column or run.get("label_column"),
        download=args.download,
    )
    if data[0].shape[1] != model.n_features_in_:
        trained = f" (it was trained on {run['dataset']})" if "dataset" in run else ""
        raise CLIError(
            f"the model takes rows of {model.n_features_in_} features{trained}, but "
            f"--dataset {dataset} has {data[0].shape[1]}"
        )
    if hasattr(model, "image_shape_") and model.image_shape_[0] == 1:
        data = (*data[:4], model.image_shape_[1:])
    return data


# ------------------------------------------------------------ metrics
def _metrics(model, X_test, y_test, X_train=None, y_train=None):
    """The test metrics of ``model`` (``skdae.metrics``), with its own noise."""
    metrics = {"test_score": model.score(X_test), "test_rmse": -model.score(X_test)}
    if model.net_.corruption is not None:
        noisy = corrupted_copy(model, X_test, noise_type=None)
        metrics["test_noisy_input_rmse"] = float(np.sqrt(np.mean((noisy - X_test) ** 2)))
        restored = model.reconstruct(noisy)
        metrics["test_denoising_rmse"] = float(np.sqrt(np.mean((restored - X_test) ** 2)))
    if y_train is not None and y_test is not None and X_train is not None:
        metrics["probe_accuracy"] = probe_accuracy(model, X_train, y_train, X_test, y_test)
    return metrics


def _print_metrics(metrics):
    for key, value in metrics.items():
        if isinstance(value, float):
            print(f"{key:24s} {value:10.4f}")


def _readable(params):
    """Parameters as plain JSON for metrics.json (tuples as lists, objects as text)."""
    text = json.dumps({k: v for k, v in params.items() if k != "callbacks"}, default=str)
    return json.loads(text)


# ------------------------------------------------------------ train's --out
# What skdae train writes into --out, each with what it may hold: with --overwrite an
# earlier run's output is removed only where it holds nothing else.
TRAIN_OUTPUTS = {
    "model": lambda path: not path.is_symlink() and is_model_folder(path),
    "metrics.json": holds_only(),
    "learning_curve.png": holds_only(),
    "latent_map.png": holds_only(),
    "images": holds_only("epoch_*.png", "reconstructions.gif"),
    "tensorboard": holds_only(
        "events.out.tfevents.*",
        "projector_config.pbtxt",
        "*/test_codes/metadata.tsv",
        "*/test_codes/sprite.png",
        "*/test_codes/tensors.tsv",
    ),
}


def _fresh_out(out, overwrite):
    """``out``, with no output of an earlier run in it (removed with ``overwrite``,
    but only where it holds nothing skdae train did not write)."""
    stale = [name for name in TRAIN_OUTPUTS if (out / name).exists()]
    if stale and not overwrite:
        raise CLIError(
            f"{out} holds the outputs of an earlier run ({', '.join(stale)}); "
            "pass --overwrite to replace them, or choose another --out"
        )
    try:
        remove_outputs(out, {name: TRAIN_OUTPUTS[name] for name in stale})
    except FileExistsError as exc:
        raise CLIError(
            f"--overwrite replaces only what skdae train wrote, and {exc}; move them away, or "
            "choose another --out"
        ) from None
    out.mkdir(parents=True, exist_ok=True)
    return out


# ------------------------------------------------------------ commands
def _train(args):
    dataset = args.dataset or "mnist"
    X_train, y_train, X_test, y_test, image_shape = load_dataset(
        dataset, args.data_home, label_column=args.label_column, download=args.download
    )
    if getattr(args, "random_state", None) is None:  # SUPPRESS: absent when not given
        # Drawn, so that metrics.json can say it and a rerun with --random-state repeats the fit.
        args.random_state = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    model = _estimator(args, image_shape, X_train)
    out = _fresh_out(Path(args.out), args.overwrite)
    print(f"training {model!r}\n  on {dataset}: {len(X_train)} train, {len(X_test)} test rows")
    callbacks = []
    if image_shape is not None and args.images > 0:
        callbacks.append(ReconstructionImages(X_test[: args.images], image_shape, out / "images"))
    tensorboard_dir = None
    if not args.no_tensorboard:
        if tensorboard_installed():
            tensorboard_dir = str(out / "tensorboard")
        else:
            print("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")
    model.set_params(callbacks=callbacks, tensorboard_dir=tensorboard_dir)
    start = time.perf_counter()
    model.fit(X_train)
    fit_seconds = time.perf_counter() - start
    model.set_params(callbacks=None)  # the model file needs no picture writer

    metrics = _metrics(model, X_test, y_test, X_train, y_train)
    metrics.update(
        # The epochs' own time (skorch's EpochTimer): training and validation, not the
        # pictures and logs that callbacks draw after each epoch (fit_seconds has those).
        train_seconds=round(sum(epoch["dur"] for epoch in model.history_), 3),
        fit_seconds=round(fit_seconds, 3),
        epochs=model.n_iter_,
        device=model.device_,
        dataset=dataset,
        label_column=args.label_column,
        random_state=args.random_state,
        params=_readable(model.fitted_model_.params),
    )
    model.save(out / "model")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_learning_curve(model.history_, path=out / "learning_curve.png")
    codes = model.transform(X_test)
    plot_latent_map(codes, y_test, path=out / "latent_map.png", title=f"{dataset} test codes")
    if tensorboard_dir is not None and image_shape is not None:
        write_projector(
            tensorboard_dir, codes[: args.embed], X_test[: args.embed], y_test, image_shape
        )
    _print_metrics(metrics)
    written = ["model/", "metrics.json", "learning_curve.png", "latent_map.png"]
    written += ["images/"] * bool(callbacks) + ["tensorboard/"] * bool(tensorboard_dir)
    print(f"wrote {out}/: " + ", ".join(written))
    return 0


def _evaluate(args):
    model, run = _load_model(args.model)
    X_train, y_train, X_test, y_test, _ = _data_for(model, run, args)
    metrics = _metrics(model, X_test, y_test, X_train if args.probe else None, y_train)
    _print_metrics(metrics)
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2) + "\n")
    return 0


def _reconstruct(args):
    model, run = _load_model(args.model)
    _, _, X_test, _, image_shape = _data_for(model, run, args)
    if image_shape is None:
        raise CLIError("reconstruct draws images; this data set has no image shape")
    clean = X_test[: args.n]
    noisy = corrupted_copy(model, clean, noise_type=None)
    plot_reconstructions(
        [clean, noisy, model.reconstruct(noisy)],
        image_shape,
        path=args.out,
        titles=["clean", "noisy", "reconstructed"],
    )
    print(f"wrote {args.out}")
    return 0


def _embed(args):
    model, run = _load_model(args.model)
    _, _, X_test, y_test, image_shape = _data_for(model, run, args)
    X, y = X_test[: args.n], None if y_test is None else y_test[: args.n]
    codes = model.transform(X)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "codes.npy", codes)
    written = ["codes.npy", "latent_map.png"]
    if y is not None:
        np.save(out / "labels.npy", y)
        written.append("labels.npy")
    plot_latent_map(codes, y, path=out / "latent_map.png")
    if image_shape is not None and tensorboard_installed():
        write_projector(out / "tensorboard", codes, X, y, image_shape)
        written.append("tensorboard/ (projector)")
    print(f"wrote {out}/: " + ", ".join(written))
    return 0


def _demo(args):
    X_train, y_train, X_test, y_test, image_shape = load_dataset(
        "digits", random_state=args.random_state
    )
    chosen = dict(hidden_units=args.hidden_units, noise_factor=args.noise_factor)
    chosen.update(max_epochs=args.epochs, batch_size=args.batch_size)
    model = DenoisingAutoencoder(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in chosen.items() if v is not None},
        device=args.device,
        random_state=args.random_state,
        verbose=args.verbose,
    )
    print(f"Training {model!r}\n  on load_digits: {len(X_train)} train, {len(X_test)} test rows")
    start = time.perf_counter()
    model.fit(X_train)
    train_seconds = time.perf_counter() - start
    noisy = corrupted_copy(model, X_test, noise_type=None, random_state=args.random_state)
    denoised = model.reconstruct(noisy)

    def rmse(a):
        return float(np.sqrt(np.mean((a - X_test) ** 2)))

    epochs = f"{model.n_iter_} epochs, {model.device_}"
    print(f"train time                  {train_seconds:8.2f} s  ({epochs})")
    print(f"test reconstruction RMSE    {-model.score(X_test):8.4f}")
    print(f"test denoising RMSE         {rmse(denoised):8.4f}  (noisy input: {rmse(noisy):.4f})")
    codes = model.get_feature_names_out().size
    accuracy = probe_accuracy(model, X_train, y_train, X_test, y_test)
    print(f"logistic regression accuracy on {codes:3d} latent features  {accuracy:.4f}")
    raw = probe_accuracy(None, X_train, y_train, X_test, y_test)
    print(f"logistic regression accuracy on {X_test.shape[1]:3d} raw pixels       {raw:.4f}")
    picture = Path(args.out) / "reconstructions.png"
    picture.parent.mkdir(parents=True, exist_ok=True)
    plot_reconstructions(
        [X_test[:10], noisy[:10], denoised[:10]],
        image_shape,
        path=picture,
        titles=["clean", "noisy", "denoised"],
    )
    print(f"wrote {picture}")
    return 0


# ------------------------------------------------------------ the parser
OPTIONS = estimator_options()


def _data_options(sub, default):
    sub.add_argument(
        "--dataset", help=f"digits, mnist, or a .npy/.csv file of rows (default: {default})"
    )
    sub.add_argument(
        "--label-column",
        help="for a .csv/.npy file: the column of labels (a header name or a 0-based index), "
        "left out of the features and used by the probe",
    )
    sub.add_argument(
        "--data-home", help="folder holding mnist/ (default: $SKDAE_DATA, else ~/skdae_data)"
    )
    sub.add_argument(
        "--download",
        action="store_true",
        help="fetch MNIST's files (about 11 MB) into --data-home when they are missing",
    )


def build_parser():
    # allow_abbrev=False everywhere: "--hidden 8" is an error, not --hidden-units, so
    # that a new option never changes what a user's script means.
    parser = argparse.ArgumentParser(
        prog="skdae", description="Denoising autoencoders for scikit-learn.", allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"skdae {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo",
        allow_abbrev=False,
        help="train on scikit-learn's digits, print metrics, draw reconstructions",
        description="Train a DenoisingAutoencoder on load_digits (ships with scikit-learn), print "
        "the train time, the test reconstruction and denoising RMSE and the accuracy of a logistic "
        "regression on the codes next to one on the raw pixels, and write a PNG of clean / noisy / "
        "denoised digits.",
    )
    for name in ("hidden_units", "noise_factor", "batch_size"):
        flags, kwargs, _ = OPTIONS[name]
        demo.add_argument(flags[0], **dict(kwargs, default=None))
    epochs = dict(dest="epochs", type=int, help="max_epochs (default: 200)")
    demo.add_argument("--max-epochs", **epochs)
    add_aliases(demo, "max_epochs", ["--max-epochs"], epochs)
    demo.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    demo.add_argument(
        "--random-state", type=int, default=0, help="seed of the split and the fit (default: 0)"
    )
    demo.add_argument(
        "--out", default="demo_output", help="folder for the picture (default: demo_output)"
    )
    demo.add_argument("-v", "--verbose", type=int, default=0, help="0 or 1 (default: 0)")
    demo.set_defaults(func=_demo)

    train = commands.add_parser(
        "train",
        allow_abbrev=False,
        help="fit a model; write it with metrics, pictures and TensorBoard logs",
        description="Fit a denoising autoencoder (fully connected, or convolutional for images) on "
        "a "
        "data set's training rows and write into --out: model/ (JSON + safetensors), metrics.json "
        "(test reconstruction and denoising RMSE, score, a logistic-regression probe's accuracy "
        "when there are labels), images/ (test images after every epoch, and a GIF), "
        "learning_curve.png, latent_map.png, and tensorboard/ when tensorboard is installed. Every "
        "estimator parameter is an option; one left out keeps the estimator's default.",
    )
    _data_options(train, "mnist")
    train.add_argument("--out", default="runs/latest", help="output folder (default: runs/latest)")
    train.add_argument(
        "--overwrite", action="store_true", help="replace an earlier run's outputs in --out"
    )
    train.add_argument(
        "--architecture",
        choices=list(ARCHITECTURES),
        default="fully_connected",
        help="DenoisingAutoencoder (fully_connected, the default) or ConvDenoisingAutoencoder "
        "(convolutional, for images)",
    )
    estimator = train.add_argument_group("estimator parameters (see the estimators' docstrings)")
    for name, (flags, kwargs, classes) in OPTIONS.items():
        only = "" if len(classes) > 1 else f" [{next(iter(classes)).__name__} only]"
        estimator.add_argument(*flags, **dict(kwargs, help=kwargs["help"] + only))
        add_aliases(estimator, name, flags, kwargs)
    train.add_argument("--images", type=int, default=10, help="test images per picture (0: none)")
    train.add_argument("--embed", type=int, default=1000, help="test codes for the projector")
    train.add_argument("--no-tensorboard", action="store_true", help="write no TensorBoard logs")
    train.add_argument(
        "-v", "--verbose", type=int, default=1, help="0 silent, 1 progress (default)"
    )
    train.set_defaults(func=_train)

    model_help = "a model folder (skdae train's OUT/model), or OUT itself"
    for name, func, help_text, description, extra in [
        (
            "evaluate",
            _evaluate,
            "metrics of a trained model on a test set",
            "Evaluate a trained model on a data set's test rows: print its reconstruction RMSE, "
            "score and denoising RMSE (and, with --probe, a logistic-regression probe's "
            "accuracy on its codes); --json also writes them to a file. It writes nothing else.",
            None,
        ),
        (
            "reconstruct",
            _reconstruct,
            "picture of N test images reconstructed",
            "Reconstruct the first N test images with a trained model and write a PNG of them "
            "(clean, corrupted with the model's own noise, and reconstructed) to --out.",
            ("10", "reconstructions.png"),
        ),
        (
            "embed",
            _embed,
            "latent codes of N test images, map and projector",
            "Encode the first N test rows with a trained model and write into --out a map of "
            "their codes (latent_map.png) and, when tensorboard is installed, TensorBoard "
            "projector files.",
            ("1000", "embedding"),
        ),
    ]:
        sub = commands.add_parser(name, help=help_text, description=description, allow_abbrev=False)
        sub.add_argument("--model", required=True, help=model_help)
        _data_options(sub, "the data set the model was trained on")
        if extra is None:
            sub.add_argument(
                "--probe", action="store_true", help="also fit a logistic-regression probe"
            )
            sub.add_argument("--json", help="also write the metrics to this file")
        else:
            sub.add_argument(
                "-n", type=int, default=int(extra[0]), help=f"rows (default: {extra[0]})"
            )
            sub.add_argument(
                "--out", default=extra[1], help=f"where to write (default: {extra[1]})"
            )
        sub.set_defaults(func=func)
    return parser


def main(argv=None):
    """Run a command; a user's mistake prints one line on stderr and returns 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"skdae: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
