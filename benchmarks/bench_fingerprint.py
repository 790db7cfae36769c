"""The cost of fingerprinting the rows of a fit, against the fit itself.

Every fit hashes X's content (``skdae._fitted.fingerprint``, SHA-256): the
checkpoint identity and the fitted record hold it. This times the fingerprint
(median of 5) and whole fits of the default ``DenoisingAutoencoder`` for
``--epochs`` epochs (median of 3, the fingerprint included, as in every fit),
and prints the fingerprint's share of one epoch, of the timed fit, and of a
fit of ``--default-epochs`` epochs (what the default model needs to converge
on MNIST: 82 ± 8 in the headline quality table of docs/benchmarks.md).

    python benchmarks/bench_fingerprint.py --data-home ../shared/data   # MNIST
    python benchmarks/bench_fingerprint.py --quick                      # digits: a smoke run
"""

import argparse
import platform
import statistics
import time
import warnings

import numpy as np


def _median_seconds(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=["mnist", "digits"], default="mnist")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--default-epochs", type=int, default=82)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.dataset, args.epochs = "digits", 1

    from sklearn.exceptions import ConvergenceWarning

    from skdae import DenoisingAutoencoder
    from skdae._fitted import fingerprint

    if args.dataset == "digits":
        from sklearn.datasets import load_digits

        X = (load_digits().data / 16.0).astype(np.float32)
    else:
        from skdae.datasets import load_mnist

        X = load_mnist(data_home=args.data_home, subset="train", return_X_y=True)[0]
    hash_seconds = _median_seconds(lambda: fingerprint(X), repeats=5)
    fit_seconds = []

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            DenoisingAutoencoder(max_epochs=args.epochs, random_state=0, monitor=False).fit(X)
            fit_seconds.append(time.perf_counter() - start)

    _median_seconds(fit, repeats=1 if args.quick else 3)
    fit_time = statistics.median(fit_seconds)
    epoch = fit_time / args.epochs
    print(
        f"{args.dataset}: {X.shape[0]} x {X.shape[1]} {X.dtype}, {X.nbytes / 2**20:.0f} MiB; "
        f"{platform.machine()} CPU, {time.strftime('%Y-%m-%d')}"
    )
    print("| what | seconds | fingerprint's share |")
    print("| --- | --- | --- |")
    print(f"| fingerprint (SHA-256 of X) | {hash_seconds:.4f} | |")
    print(f"| one epoch of the default model | {epoch:.3f} | {100 * hash_seconds / epoch:.3g}% |")
    print(
        f"| a fit of {args.epochs} epochs (timed) | {fit_time:.3f} | "
        f"{100 * hash_seconds / fit_time:.3g}% |"
    )
    default_fit = epoch * args.default_epochs
    print(
        f"| a fit of {args.default_epochs} epochs (the default's on MNIST) | ~{default_fit:.0f} | "
        f"{100 * hash_seconds / default_fit:.3g}% |"
    )


if __name__ == "__main__":
    main()
