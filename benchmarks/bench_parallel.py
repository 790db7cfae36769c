"""GridSearchCV over skdae with n_jobs=1 against n_jobs=2 on the same machine.

scikit-learn runs parallel fits in joblib's loky worker processes. joblib caps
the thread pools of each worker (OMP_NUM_THREADS and friends) at
cpu_count // n_jobs before the worker imports anything, and torch sizes its
intra-op pool from OMP_NUM_THREADS at import: with n_jobs=2 on 2 cores each
worker trains with 1 torch thread, so the fits do not oversubscribe the cores.
This script prints the thread count the workers saw next to the timings.

    python benchmarks/bench_parallel.py                 # MNIST 20,000 rows, 4 candidates, cv=2
    python benchmarks/bench_parallel.py --quick         # load_digits, for a smoke run
"""

import argparse
import os
import statistics
import time

import numpy as np


def worker_threads(n_jobs):
    from joblib import Parallel, delayed

    def threads():
        import torch

        return torch.get_num_threads()

    return sorted(set(Parallel(n_jobs=n_jobs)(delayed(threads)() for _ in range(n_jobs))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)

    import torch
    from sklearn.model_selection import GridSearchCV

    from skdae import DenoisingAutoencoder

    if args.quick:
        from sklearn.datasets import load_digits

        X = load_digits().data / 16.0
        args.epochs, args.repeats = 2, 1
    else:
        from skdae.datasets import load_mnist

        X = load_mnist(args.data_home, return_X_y=True)[0][: args.rows]
    grid = {"hidden_units": [(128, 32), (128, 64, 32), (256, 64), (64, 32)]}
    times = {1: [], 2: []}
    for _ in range(args.repeats):
        for n_jobs in (1, 2):
            search = GridSearchCV(
                DenoisingAutoencoder(
                    activation="relu",
                    batch_size=256,
                    max_epochs=args.epochs,
                    n_iter_no_change=args.epochs,  # the same epochs in every fit
                    random_state=0,
                    device="cpu",
                ),
                grid,
                cv=2,
                n_jobs=n_jobs,
            )
            start = time.perf_counter()
            search.fit(X)
            times[n_jobs].append(time.perf_counter() - start)
    print(
        f"# GridSearchCV, {len(grid['hidden_units'])} candidates x cv=2 on {X.shape[0]} rows, "
        f"{args.epochs} epochs, {os.cpu_count()} CPUs, median of {args.repeats}"
    )
    print(f"{'n_jobs':>6s} {'wall s':>8s} {'speed-up':>8s} {'torch threads per fit':>22s}")
    base = statistics.median(times[1])
    for n_jobs, values in times.items():
        seen = [torch.get_num_threads()] if n_jobs == 1 else worker_threads(n_jobs)
        wall = statistics.median(values)
        print(f"{n_jobs:6d} {wall:8.2f} {base / wall:8.2f} {str(seen):>22s}")
    return np.array([statistics.median(times[1]), statistics.median(times[2])])


if __name__ == "__main__":
    main()
