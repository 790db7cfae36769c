"""Whole fits in float32 and in bfloat16 mixed precision, for the recommended models.

Each model (the fully connected default, 784-512-256-32 GELU; the convolutional
one, channels (32, 64), GELU, a 32-unit code) trains a fixed number of epochs
(every epoch runs: ``n_iter_no_change`` = the epochs) on MNIST in float32 and
in ``precision="bfloat16"``, the two interleaved, each repeated; the table shows
the median fit time, the ratio to float32 in the same run, the last epoch's
training loss and the probe accuracy of the codes (StandardScaler +
LogisticRegression on 10,000 training codes, scored on the test set).

    python benchmarks/bench_precision.py                         # MNIST, 5 epochs, 2 repeats
    python benchmarks/bench_precision.py --models fc --epochs 10
    python benchmarks/bench_precision.py --quick                 # digits, 1 epoch: a smoke run
"""

import argparse
import platform
import statistics
import time
import warnings

import numpy as np
import torch

MODELS = {
    "fc": ("DenoisingAutoencoder", dict(hidden_units=(512, 256, 32))),
    "conv": (
        "ConvDenoisingAutoencoder",
        dict(channels=(32, 64), code_size=32, activation="gelu"),
    ),
}
PRECISIONS = ("float32", "bfloat16")


def load(args):
    if args.dataset == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        return X[:1400], y[:1400], X[1400:], y[1400:]
    from skdae.datasets import load_mnist

    X_train, y_train = load_mnist(args.data_home, subset="train", return_X_y=True)
    X_test, y_test = load_mnist(args.data_home, subset="test", return_X_y=True)
    return X_train, y_train, X_test, y_test


def probe(dae, X_train, y_train, X_test, y_test, n_train=10_000):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(dae.transform(X_train[:n_train]), y_train[:n_train])
    return float(model.score(dae.transform(X_test), y_test))


def fit(model, precision, data, args):
    import skdae

    name, params = MODELS[model]
    dae = getattr(skdae, name)(
        **params,
        max_epochs=args.epochs,
        n_iter_no_change=args.epochs,  # every epoch runs: the same work in both precisions
        precision=precision,
        device=args.device,
        random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fixed number of epochs: no convergence asked for
        dae.fit(data[0])
    return time.perf_counter() - start, dae


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=["mnist", "digits"], default="mnist")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--models", default="fc,conv")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="digits, 1 epoch, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.dataset, args.epochs, args.repeats = "digits", 1, 1
    from skdae._base import bfloat16_supported

    device = torch.device(args.device)
    precisions = [p for p in PRECISIONS if p == "float32" or bfloat16_supported(device)]
    data = load(args)
    print(
        f"# {args.dataset}, {len(data[0])} training rows, {args.epochs} epochs, median of "
        f"{args.repeats}; {platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}, device {device}"
    )
    if len(precisions) == 1:
        print("# this device has no bfloat16 arithmetic: float32 only")
    print("| model | precision | fit s | ratio | s/epoch | last loss | probe accuracy |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        seconds = {p: [] for p in precisions}
        fitted = {}
        for _ in range(args.repeats):
            for precision in precisions:  # interleaved: drifts of the machine hit both
                elapsed, fitted[precision] = fit(model, precision, data, args)
                seconds[precision].append(elapsed)
        reference = statistics.median(seconds["float32"])
        for precision in precisions:
            median = statistics.median(seconds[precision])
            dae = fitted[precision]
            print(
                f"| {model} {MODELS[model][1]} | {precision} | {median:.1f} | "
                f"{median / reference:.2f} | {median / args.epochs:.2f} | {dae.loss_:.4f} | "
                f"{probe(dae, *data):.4f} |"
            )


if __name__ == "__main__":
    main()
