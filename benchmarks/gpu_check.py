"""One run that checks skdae's GPU path; prints a report to paste into a note.

Needs a CUDA GPU and MNIST (``--data-home`` or SKDAE_DATA). Checks, in order:

1. device placement: a default fit on ``device="auto"`` trains on the GPU
   (module, data, noise and generator on cuda);
2. speed: whole 10-epoch fits of the original post's model, skdae against a
   tight on-device loop (``bench_speed.run_loop``), in the same run;
3. a GPU-trained model saved with ``save`` and pickled, loaded on the CPU:
   the same codes within float32 rounding;
4. ``compile=True``;
5. mixed precision: the recommended models (the fully connected default and
   the convolutional one with a dense layer) in float32, bfloat16 and float16
   (fit time, speed-up, last loss);
6. the streamed path (``data_placement="stream"``: batches copied from pinned
   host memory) against the in-memory one: fit times, and how far the losses
   are apart (the same batches; the validation split aside, the same model);
7. a data-parallel fit over nccl is not run here (one GPU): run
   ``torchrun --nproc_per_node=2 examples/distributed_fit.py`` on a machine
   with two.

    python benchmarks/gpu_check.py --data-home DIR
"""

import argparse
import functools
import pickle
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def timed_fit(estimator, X):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X)
    torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("gpu_check: torch sees no CUDA GPU")
    import bench_precision
    import bench_speed

    import skdae
    from skdae._runtime import check_precision
    from skdae.datasets import load_mnist

    X = load_mnist(args.data_home, subset="train", return_X_y=True)[0]
    X_test = load_mnist(args.data_home, subset="test", return_X_y=True)[0]
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, skdae {skdae.__version__}")
    seed_model = dict(hidden_units=(128, 64, 32), activation="relu", batch_size=256)
    fixed = dict(max_epochs=args.epochs, n_iter_no_change=args.epochs, random_state=0)

    # 1. placement
    dae = skdae.DenoisingAutoencoder(**seed_model, **fixed)
    seconds = timed_fit(dae, X)
    where = {p.device.type for p in dae.net_.module_.parameters()}
    print(f"1. device_={dae.device_}, parameters on {where}, fit {seconds:.1f} s")

    # 2. speed against the on-device loop
    loop_args = argparse.Namespace(device="cuda", epochs=args.epochs, batch_size=256)
    loop_seconds = bench_speed.run_loop(X, loop_args, flush_denormal=False)[0]
    ratio = seconds / loop_seconds
    print(f"2. loop {loop_seconds:.1f} s, skdae {seconds:.1f} s, ratio {ratio:.2f}")

    # 3. a GPU-trained model on the CPU
    codes = dae.transform(X_test)
    with tempfile.TemporaryDirectory() as folder:
        loaded = skdae.load(dae.save(Path(folder) / "model"), device="cpu")
    unpickled = pickle.loads(pickle.dumps(dae))  # plain data, rebuilt on the GPU here
    for name, model in (("load(device='cpu')", loaded), ("pickle", unpickled)):
        diff = float(np.abs(model.transform(X_test) - codes).max())
        print(f"3. {name}: device_={model.device_}, max |codes - GPU codes| = {diff:.2e}")

    # 4. compile
    compiled = skdae.DenoisingAutoencoder(**seed_model, **fixed, compile=True)
    print(f"4. compile=True: fit {timed_fit(compiled, X):.1f} s (eager {seconds:.1f} s)")

    # 5. mixed precision on the recommended models
    recommended = {  # bench_precision's names and settings of the recommended models
        "fully connected default": "fc",
        "conv, dense 256, code 32": "conv_dense",
    }
    for name, model_name in recommended.items():
        make = functools.partial(bench_precision.estimator, model_name)
        timed_fit(make(max_epochs=1, n_iter_no_change=1, random_state=0), X[:4096])  # warm-up
        reference = None
        for precision in ("float32", "bfloat16", "float16"):
            try:
                check_precision(precision, torch.device("cuda"))
            except ValueError as refusal:  # this GPU cannot compute in that precision
                print(f"5. {name}, {precision}: refused: {refusal}")
                continue
            model = make(**fixed, precision=precision)
            fit_seconds = timed_fit(model, X)
            if precision == "float32":
                reference = fit_seconds
            speed_up = f" ({reference / fit_seconds:.2f}x float32's speed)" if reference else ""
            print(
                f"5. {name}, {precision}: fit {fit_seconds:.1f} s{speed_up}, "
                f"last loss {model.loss_:.4f}"
            )

    # 6. streamed from pinned host memory against the data on the device
    timings = {}
    for placement in ("device", "stream"):
        model = skdae.DenoisingAutoencoder(**seed_model, **fixed, data_placement=placement)
        timings[placement] = (timed_fit(model, X), np.array(model.loss_curve_))
    (device_s, device_loss), (stream_s, stream_loss) = timings["device"], timings["stream"]
    print(
        f"6. data_placement: device {device_s:.1f} s, stream {stream_s:.1f} s "
        f"({stream_s / device_s:.2f}x), max |loss difference| "
        f"{float(np.abs(device_loss - stream_loss).max()):.2e}"
    )


if __name__ == "__main__":
    main()
