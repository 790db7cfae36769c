"""transform and score_samples on a million rows: time and peak memory.

The rows are MNIST tiled (float32, 784 features: 3.1 GB). Each method runs in
a child process of its own, whose resident memory is sampled during the call;
the table shows how much the call added on top of the data, against the size
of its output -- streaming in batches keeps the difference to a few MB.

    python benchmarks/bench_scale.py                 # 1,000,000 rows
    python benchmarks/bench_scale.py --rows 100000
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

import numpy as np


def _rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def child(args):
    from skdae import DenoisingAutoencoder

    if args.quick:
        from sklearn.datasets import load_digits

        train = (load_digits().data / 16).astype(np.float32)
    else:
        from skdae.datasets import load_mnist

        train = load_mnist(args.data_home, return_X_y=True)[0]
    dae = DenoisingAutoencoder(
        (128, 64, 32), activation="relu", max_epochs=1, random_state=0, device=args.device
    ).fit(train[:10000])
    X = np.resize(train, (args.rows, train.shape[1]))  # tiled, float32, C order
    del train
    before = _rss_mb()
    peak = [before]
    done = threading.Event()

    def sample():  # the process's peak during the call (ru_maxrss holds earlier peaks)
        while not done.wait(0.002):
            peak[0] = max(peak[0], _rss_mb())

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    out = getattr(dae, args.child)(X)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    peak = max(peak[0], _rss_mb())
    print(
        json.dumps(
            {
                "seconds": seconds,
                "before_mb": before,
                "peak_mb": peak,
                "output_mb": out.nbytes / 2**20,
                "data_mb": X.nbytes / 2**20,
            }
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--quick", action="store_true", help="load_digits tiled to 5,000 rows")
    parser.add_argument("--child", choices=["transform", "score_samples"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = 5000
    if args.child:
        return child(args)
    print(
        f"# {args.rows:,} {'digits' if args.quick else 'MNIST'} rows (tiled), "
        f"device {args.device}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'method':14s} {'s':>7s} {'rows/s':>10s} {'data MB':>8s} {'output MB':>9s} "
        f"{'peak RSS MB':>11s} {'added MB':>9s}"
    )
    for method in ["transform", "score_samples"]:
        argv = [
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            method,
            "--rows",
            str(args.rows),
            "--device",
            args.device,
        ]
        if args.data_home:
            argv += ["--data-home", args.data_home]
        if args.quick:
            argv.append("--quick")
        out = subprocess.run(argv, capture_output=True, text=True)
        if out.returncode:
            sys.stderr.write(out.stderr)
            raise SystemExit(f"{method} failed")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{method:14s} {r['seconds']:7.2f} {args.rows / r['seconds']:10.0f} "
            f"{r['data_mb']:8.0f} {r['output_mb']:9.1f} {r['peak_mb']:11.0f} "
            f"{r['peak_mb'] - r['before_mb']:9.1f}"
        )


if __name__ == "__main__":
    main()
