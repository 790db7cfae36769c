"""Command line: ``skdae demo`` (also ``python -m skdae demo``)."""

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def _demo(args):
    import torch
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import DenoisingAutoencoder
    from ._noise import GaussianNoise

    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # grey levels 0..16 -> [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.random_state, stratify=y
    )
    dae = DenoisingAutoencoder(
        hidden_units=tuple(args.hidden_units),
        noise_factor=args.noise_factor,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
        random_state=args.random_state,
        verbose=args.verbose,
    )
    print(
        f"Training {dae!r}\n  on load_digits: {X_train.shape[0]} train, {X_test.shape[0]} test rows"
    )
    start = time.perf_counter()
    dae.fit(X_train)
    train_seconds = time.perf_counter() - start

    rmse = float(np.sqrt(np.mean((dae.reconstruct(X_test) - X_test) ** 2)))
    corrupt = GaussianNoise(args.noise_factor, clip=True)
    generator = torch.Generator().manual_seed(args.random_state)
    X_noisy = corrupt(torch.as_tensor(X_test), generator).numpy()
    denoised = dae.reconstruct(X_noisy)
    denoising_rmse = float(np.sqrt(np.mean((denoised - X_test) ** 2)))

    def probe_accuracy(train, test):
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        return probe.fit(train, y_train).score(test, y_test)

    acc_codes = probe_accuracy(dae.transform(X_train), dae.transform(X_test))
    acc_raw = probe_accuracy(X_train, X_test)
    code_size = dae.get_feature_names_out().size

    epochs = f"{dae.max_epochs} epochs, {dae.device_}"
    print(f"train time                  {train_seconds:8.2f} s  ({epochs})")
    print(f"test reconstruction RMSE    {rmse:8.4f}")
    print(
        f"test denoising RMSE         {denoising_rmse:8.4f}  (noisy input: "
        f"{float(np.sqrt(np.mean((X_noisy - X_test) ** 2))):.4f})"
    )
    print(f"logistic regression accuracy on {code_size:3d} latent features  {acc_codes:.4f}")
    print(f"logistic regression accuracy on {X.shape[1]:3d} raw pixels       {acc_raw:.4f}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    picture = out / "reconstructions.png"
    from .plotting import plot_reconstructions

    n = 10
    plot_reconstructions(
        [X_test[:n], X_noisy[:n], denoised[:n]],
        image_shape=(8, 8),
        path=picture,
        titles=["clean", "noisy", "denoised"],
    )
    print(f"wrote {picture}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skdae", description="Denoising autoencoders for scikit-learn."
    )
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
        default=[128, 32],
        metavar="N",
        help="encoder widths (default: 128 32)",
    )
    demo.add_argument(
        "--noise-factor",
        type=float,
        default=0.3,
        help="std of the Gaussian corruption (default: 0.3)",
    )
    demo.add_argument("--epochs", type=int, default=100, help="default: 100")
    demo.add_argument("--batch-size", type=int, default=64, help="default: 64")
    demo.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    demo.add_argument("--random-state", type=int, default=0, help="default: 0")
    demo.add_argument(
        "--out", default="demo_output", help="folder for the picture (default: demo_output)"
    )
    demo.add_argument("-v", "--verbose", type=int, default=0, help="0 or 1 (default: 0)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
