"""A grid search through joblib's Ray backend on a local Ray cluster, against n_jobs=1.

Not in the test suite: a local Ray cluster binds to the machine's network
address (not to loopback alone) and installs ~80 MB (``pip install
".[cluster]"``). The search is like the suite's Dask one: 4 candidates × cv=3 on
scikit-learn's digits, 10 epochs each. It prints the torch threads of a Ray worker, the
time of each run and whether the scores equal the serial ones bit for bit (both
trained with one torch thread per fit).

    python benchmarks/bench_ray_search.py
    python benchmarks/bench_ray_search.py --quick     # 2 candidates, 600 rows
"""

import argparse
import time
import warnings

import joblib
import numpy as np
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, ParameterGrid

from skdae import DenoisingAutoencoder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    import ray
    from ray.util.joblib import register_ray

    X = (load_digits().data / 16.0).astype(np.float32)
    grid = {"noise_factor": [0.1, 0.5], "hidden_units": [(64, 16), (128, 16)]}
    if args.quick:
        X, grid = X[:600], {"noise_factor": [0.1, 0.5]}
    search = GridSearchCV(DenoisingAutoencoder(max_epochs=10, random_state=0), grid, cv=3)
    warnings.simplefilter("ignore", ConvergenceWarning)  # 10 epochs: a cap, on purpose

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each Ray worker trains: the same sums, same order
    start = time.perf_counter()
    try:
        serial = clone(search).fit(X)
    finally:
        torch.set_num_threads(threads)
    serial_s = time.perf_counter() - start

    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    try:
        register_ray()

        @ray.remote(num_cpus=1)
        def worker_threads():
            import torch

            return torch.get_num_threads()

        worker = ray.get(worker_threads.remote())
        start = time.perf_counter()
        with joblib.parallel_backend("ray"):
            backend = type(joblib.parallel.get_active_backend()[0]).__name__
            parallel = clone(search).set_params(n_jobs=-1).fit(X)
        ray_s = time.perf_counter() - start
    finally:
        ray.shutdown()
    same = np.array_equal(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    print(
        f"# {time.strftime('%Y-%m-%d')}, ray {ray.__version__}, {args.workers} workers; "
        f"{len(ParameterGrid(grid))} candidates, "
        f"{len(X)} rows, cv=3; torch threads in a Ray worker: {worker}; backend: {backend}"
    )
    print("| run | seconds | best params | scores equal to serial |")
    print("| --- | --- | --- | --- |")
    print(f"| n_jobs=1, 1 thread | {serial_s:.1f} | {serial.best_params_} | – |")
    print(f"| Ray, n_jobs=-1 | {ray_s:.1f} | {parallel.best_params_} | {same} |")


if __name__ == "__main__":
    main()
