"""Epoch throughput of a data-parallel fit: 1 and 2 processes over gloo, 1 thread each.

Each configuration runs as its own processes, started as ``torchrun`` starts
them (RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT in the environment),
fitting the same model on MNIST's 60,000 training images for ``--epochs``
epochs (convergence off); the table shows the median epoch time of rank 0
after the first epoch, rows per second, and the efficiency
``speed-up / cores used``. A last row, for context, is one process with as many
threads as the machine has cores.

    python benchmarks/bench_distributed.py --data-home ../shared/data
    python benchmarks/bench_distributed.py --quick        # digits, 2 epochs: a smoke run
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import warnings

import numpy as np


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_main(args):
    """One process of a configuration: fit, then print rank 0's epoch times."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(args.threads)
    from sklearn.exceptions import ConvergenceWarning

    from skdae import DenoisingAutoencoder
    from skdae.datasets import load_mnist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        dist.init_process_group("gloo")
    if args.quick:  # digits ship with scikit-learn: no MNIST needed
        from sklearn.datasets import load_digits

        X = (load_digits().data / 16.0).astype(np.float32)
    else:
        X = load_mnist(args.data_home, subset="train", return_X_y=True)[0][: args.rows]
    model = DenoisingAutoencoder(
        hidden_units=tuple(args.hidden_units),
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        n_iter_no_change=10**6,
        random_state=0,
        monitor=False,
        device="cpu",
    )
    start = time.perf_counter()
    with warnings.catch_warnings():  # a fixed number of epochs, on purpose
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    seconds = time.perf_counter() - start
    if world == 1 or dist.get_rank() == 0:
        durations = [float(d) for d in model.history_[:, "dur"]]
        print(json.dumps({"durations": durations, "fit": seconds, "loss": model.loss_}))
    if world > 1:
        dist.destroy_process_group()
        # Leave without the interpreter's teardown: a group that DistributedDataParallel
        # used outlives destroy_process_group() in torch, and its gloo threads may still
        # be finishing as Python finalises, which aborts the process at random
        # ("terminate called without an active exception", exit -6) after a good run.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def run(args, processes, threads):
    port = str(free_port())
    command = [sys.executable, __file__, "--rank-main", "--threads", str(threads)]
    command += ["--rows", str(args.rows), "--epochs", str(args.epochs)]
    command += ["--hidden-units", *map(str, args.hidden_units)]
    command += ["--batch-size", str(args.batch_size)]
    if args.quick:
        command += ["--quick"]
    if args.data_home:
        command += ["--data-home", args.data_home]
    children = []
    for rank in range(processes):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        if processes > 1:
            env.update(
                RANK=str(rank),
                LOCAL_RANK=str(rank),
                WORLD_SIZE=str(processes),
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
            )
        children.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True))
    try:
        outputs = [child.communicate(timeout=1800)[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()  # a rank that failed must not leave the others waiting
    if any(child.returncode for child in children):
        raise SystemExit(f"a rank failed: {[child.returncode for child in children]}")
    return json.loads(outputs[0].strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--hidden-units", type=int, nargs="+", default=[512, 256, 32])
    parser.add_argument("--batch-size", default="auto", type=lambda v: v if v == "auto" else int(v))
    parser.add_argument("--quick", action="store_true", help="digits, 2 epochs")
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--rank-main", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.epochs = 1797, 2
    if args.rank_main:
        return rank_main(args)
    cores = os.cpu_count() or 1
    print(
        f"# {time.strftime('%Y-%m-%d')}, {cores} cores; "
        f"{'digits' if args.quick else 'MNIST'} {args.rows} rows; "
        f"hidden_units={tuple(args.hidden_units)}, batch_size={args.batch_size!r}, "
        f"{args.epochs} epochs; "
        "median epoch time of rank 0 after the first epoch"
    )
    print("| processes × threads | epoch s | rows/s | speed-up | efficiency | last loss |")
    print("| --- | --- | --- | --- | --- | --- |")
    reference = None
    for processes, threads in ((1, 1), (2, 1), (1, cores)):
        result = run(args, processes, threads)
        epoch = float(np.median(result["durations"][1:] or result["durations"]))
        reference = reference or epoch
        speedup = reference / epoch
        print(
            f"| {processes} × {threads} | {epoch:.2f} | {args.rows / epoch:,.0f} | "
            f"{speedup:.2f} | {speedup / (processes * threads):.2f} | {result['loss']:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
