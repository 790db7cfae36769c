"""Whole-fit speed of skdae against a hand-written PyTorch loop and its peers.

Each contender trains the seed's model (784-128-64-32 mirrored, ReLU, Gaussian
noise 0.5 unless the contender has none, Adam 1e-3, batch 256, L2 1e-5) in a
child process of its own (so that peak RSS is its own), the contenders
interleaved, each repeated; the table shows medians.

    python benchmarks/bench_speed.py                       # MNIST, 30 epochs, 3 repeats
    python benchmarks/bench_speed.py --tile 4 --contenders loop_ftz,skdae
    python benchmarks/bench_speed.py --quick               # load_digits, 2 epochs
    python benchmarks/bench_speed.py --smoke               # 200 digits, 1 epoch: that it runs

Contenders: loop_ftz (the reference: one tensor, permutation slices, noise on
the tensor, denormals flushed, fused Adam), loop (the same without flushing),
skdae, skdae_compile (compile=True), skorch
(NeuralNetRegressor's default DataLoader path, noise in train_step_single),
mlp (scikit-learn's MLPRegressor X->X, no noise, float32 like the data),
mlp_f64 (the same on a float64 copy, as MLPRegressor computes in X's dtype),
pyod (PyOD's AutoEncoder, no noise; skipped when pyod is not installed).

float32 against bfloat16 on the recommended models, next to a plain loop in
both precisions: ``benchmarks/bench_precision.py``.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

CONTENDERS = ("loop_ftz", "loop", "skdae", "skdae_compile", "skorch", "mlp", "mlp_f64", "pyod")
HIDDEN = (128, 64, 32)
NOISE, LR, WEIGHT_DECAY = 0.5, 1e-3, 1e-5


# --------------------------------------------------------------------- data
def load_data(args):
    if args.dataset == "digits":
        from sklearn.datasets import load_digits

        X = (load_digits().data / 16.0).astype(np.float32)
    else:
        from skdae.datasets import load_mnist

        X = load_mnist(args.data_home, subset="train", return_X_y=True)[0]
    if args.rows:
        X = X[: args.rows]
    if args.tile > 1:
        X = np.tile(X, (args.tile, 1))
    return np.ascontiguousarray(X, dtype=np.float32)


# ---------------------------------------------------------------- contenders
def _reference_model(n_features, torch, nn):
    widths = [n_features, *HIDDEN, *HIDDEN[-2::-1], n_features]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return model


def run_loop(X, args, flush_denormal):
    """The tightest loop we could write: what skdae must match."""
    import torch
    from torch import nn

    start = time.perf_counter()  # a whole fit: building the model and optimizer too
    torch.set_flush_denormal(flush_denormal)
    torch.manual_seed(0)  # a benchmark's own process: global seeding is fine here
    device = torch.device(args.device)
    model = _reference_model(X.shape[1], torch, nn).to(device)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    optimizer = torch.optim.Adam(
        [{"params": weights, "weight_decay": WEIGHT_DECAY}, {"params": biases, "weight_decay": 0}],
        lr=LR,
        fused=True,  # the fastest Adam on CPU and GPU alike
    )
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, 1000, 0.96)
    loss_fn = nn.BCEWithLogitsLoss()
    data = torch.from_numpy(X).to(device)
    n, batch_size = len(data), args.batch_size
    epoch_seconds, losses = [], []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        for i in range(0, n, batch_size):
            clean = data[order[i : i + batch_size]]
            noisy = (clean + NOISE * torch.randn(clean.shape, device=device)).clamp_(0, 1)
            loss = loss_fn(model(noisy), clean)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.detach() * len(clean)
        losses.append((total / n).item())  # one sync per epoch
        epoch_seconds.append(time.perf_counter() - t0)
    fit_seconds = time.perf_counter() - start

    model.eval()

    def encode():
        out = []
        with torch.inference_mode():
            for i in range(0, n, 4096):
                out.append(model[:6](data[i : i + 4096]).cpu())
        return torch.cat(out).numpy()

    label = "reference" if flush_denormal else "reference, no flush"
    return fit_seconds, epoch_seconds, losses[-1], {label: encode}


def run_skdae(X, args, compile=False):
    from skdae import DenoisingAutoencoder

    dae = DenoisingAutoencoder(
        HIDDEN,
        activation="relu",  # the seed's, as the reference loop
        noise_factor=NOISE,
        learning_rate=LR,
        weight_decay=WEIGHT_DECAY,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        n_iter_no_change=args.epochs,  # every epoch runs: the same work as the reference
        device=args.device,
        random_state=0,
        compile=compile,
    )
    start = time.perf_counter()
    dae.fit(X)
    fit_seconds = time.perf_counter() - start
    if compile:
        return fit_seconds, dae.history_[:, "dur"], dae.history_[-1, "train_loss"], None
    return (
        fit_seconds,
        dae.history_[:, "dur"],
        dae.history_[-1, "train_loss"],
        {
            "skdae": lambda: dae.transform(X),
            "skdae, assume_finite": lambda: _assuming_finite(dae.transform, X),
        },
    )


def _assuming_finite(fn, X):
    """Skip the NaN/inf scan, as scikit-learn's set_config(assume_finite=True) does."""
    import sklearn

    with sklearn.config_context(assume_finite=True):
        return fn(X)


def run_skorch(X, args):
    import torch
    from skorch import NeuralNetRegressor
    from torch import nn

    class NoisyNet(NeuralNetRegressor):
        def train_step_single(self, batch, **fit_params):
            self._set_training(True)
            Xi, yi = batch
            Xi = Xi.to(self.device)
            noisy = (Xi + NOISE * torch.randn_like(Xi)).clamp_(0, 1)
            y_pred = self.infer(noisy, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
            loss.backward()
            return {"loss": loss, "y_pred": y_pred}

    torch.manual_seed(0)
    start = time.perf_counter()
    net = NoisyNet(
        _reference_model(X.shape[1], torch, nn),
        criterion=nn.BCEWithLogitsLoss,
        optimizer=torch.optim.Adam,
        optimizer__weight_decay=WEIGHT_DECAY,
        lr=LR,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        iterator_train__shuffle=True,
        train_split=None,  # train on all rows, as the others do
        device=args.device,
        verbose=0,
    )
    net.fit(X, X)
    fit_seconds = time.perf_counter() - start
    return fit_seconds, net.history[:, "dur"], net.history[-1, "train_loss"], None


def run_mlp(X, args, dtype=np.float32):
    from sklearn.neural_network import MLPRegressor

    mlp = MLPRegressor(
        hidden_layer_sizes=(*HIDDEN, *HIDDEN[-2::-1]),
        solver="adam",
        learning_rate_init=LR,
        alpha=WEIGHT_DECAY,
        batch_size=args.batch_size,
        random_state=0,
    )
    X = X.astype(dtype, copy=False)  # MLPRegressor computes in X's float dtype
    epoch_seconds = []
    start = time.perf_counter()
    for _ in range(args.epochs):  # one epoch per partial_fit call, to time each
        t0 = time.perf_counter()
        mlp.partial_fit(X, X)
        epoch_seconds.append(time.perf_counter() - t0)
    fit_seconds = time.perf_counter() - start
    return fit_seconds, epoch_seconds, mlp.loss_, None


def run_pyod(X, args):
    try:
        from pyod.models.auto_encoder import AutoEncoder
    except ImportError:
        return None
    model = AutoEncoder(
        hidden_neuron_list=list(HIDDEN),
        epoch_num=args.epochs,
        batch_size=args.batch_size,
        lr=LR,
        batch_norm=False,
        dropout_rate=0.0,
        preprocessing=False,
        device=args.device,
        verbose=0,
        random_state=0,
    )
    start = time.perf_counter()
    model.fit(X)
    fit_seconds = time.perf_counter() - start
    return fit_seconds, [], float("nan"), None


def child(args):
    """Run one contender in this process and print one JSON line."""
    import torch

    torch.set_num_threads(args.threads)
    X = load_data(args)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runners = {
        "loop_ftz": lambda: run_loop(X, args, flush_denormal=True),
        "loop": lambda: run_loop(X, args, flush_denormal=False),
        "skdae": lambda: run_skdae(X, args),
        "skdae_compile": lambda: run_skdae(X, args, compile=True),
        "skorch": lambda: run_skorch(X, args),
        "mlp": lambda: run_mlp(X, args),
        "mlp_f64": lambda: run_mlp(X, args, dtype=np.float64),
        "pyod": lambda: run_pyod(X, args),
    }
    result = runners[args.child]()
    if result is None:
        print(json.dumps({"missing": True}))
        return
    fit_seconds, epoch_seconds, final_loss, encoders = result
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    transform_seconds = {}
    for label, encode in (encoders or {}).items():
        encode()  # warm-up
        transform_seconds[label] = min(_timed(encode) for _ in range(5))
    print(
        json.dumps(
            {
                "fit_s": fit_seconds,
                "epoch_s": [float(s) for s in epoch_seconds],
                "loss": float(final_loss),
                "transform_s": transform_seconds,
                "rss_before_mb": rss_before,
                "peak_rss_mb": peak_rss,
                "n_rows": len(X),
            }
        )
    )


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ------------------------------------------------------------------- parent
def _child_argv(args, name):
    argv = [sys.executable, os.path.abspath(__file__), "--child", name]
    for key in ("dataset", "rows", "tile", "epochs", "batch_size", "device", "threads"):
        argv += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    if args.data_home:
        argv += ["--data-home", args.data_home]
    return argv


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=["mnist", "digits"], default="mnist")
    parser.add_argument("--data-home", default=None, help="folder holding mnist/ (SKDAE_DATA)")
    parser.add_argument("--rows", type=int, default=0, help="use the first N rows (0: all)")
    parser.add_argument("--tile", type=int, default=1, help="repeat the rows K times")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per contender")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--quick", action="store_true", help="digits, 2 epochs, 1 repeat")
    parser.add_argument(
        "--smoke", action="store_true", help="200 digits, 1 epoch, 1 repeat: that it runs"
    )
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.dataset, args.epochs, args.repeats = "digits", 2, 1
    if args.smoke:
        args.dataset, args.epochs, args.repeats, args.rows = "digits", 1, 1, 200
        args.batch_size = 64  # some loops run whole batches only: 200 rows hold three
    if args.child:
        return child(args)

    names = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = set(names) - set(CONTENDERS)
    if unknown:
        parser.error(f"unknown contenders {sorted(unknown)}; choose from {CONTENDERS}")
    runs = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names:  # interleaved, so that drifts hit every contender alike
            out = subprocess.run(_child_argv(args, name), capture_output=True, text=True)
            if out.returncode != 0:
                sys.stderr.write(out.stderr)
                raise SystemExit(f"contender {name} failed (repeat {repeat})")
            record = json.loads(out.stdout.strip().splitlines()[-1])
            runs[name].append(record)
            if not record.get("missing"):
                print(
                    f"# repeat {repeat + 1}/{args.repeats} {name:9s} {record['fit_s']:8.2f} s",
                    file=sys.stderr,
                )
    print_table(args, runs)


def _median(values):
    return statistics.median(values) if values else float("nan")


def print_table(args, runs):
    import torch

    print(
        f"# {args.dataset} x{args.tile}{f' (first {args.rows} rows)' if args.rows else ''}, "
        f"{args.epochs} epochs, batch {args.batch_size}, device {args.device}, "
        f"{args.threads} torch threads, median of {args.repeats}"
    )
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, python {platform.python_version()}"
    )
    reference = runs.get("loop_ftz")
    ref_fit = _median([r["fit_s"] for r in reference]) if reference else None
    header = (
        f"{'contender':13s} {'fit s':>8s} {'ratio':>6s} {'epoch 1 s':>9s} {'epoch 2 s':>9s} "
        f"{'last s':>8s} {'samples/s':>10s} {'loss':>7s} {'peak RSS MB':>11s} {'RSS+ MB':>8s}"
    )
    print(header)
    print("-" * len(header))
    for name, records in runs.items():
        if not records or records[0].get("missing"):
            print(f"{name:13s} not installed")
            continue
        fit = _median([r["fit_s"] for r in records])
        epochs = [r["epoch_s"] for r in records if r["epoch_s"]]

        def epoch(i, epochs=epochs):
            return _median([e[i] for e in epochs if len(e) > abs(i)]) if epochs else float("nan")

        n_rows = records[0]["n_rows"]
        peak = _median([r["peak_rss_mb"] for r in records])
        grown = _median([r["peak_rss_mb"] - r["rss_before_mb"] for r in records])
        ratio = fit / ref_fit if ref_fit else float("nan")
        print(
            f"{name:13s} {fit:8.2f} {ratio:6.2f} {epoch(0):9.3f} {epoch(1):9.3f} {epoch(-1):8.3f} "
            f"{n_rows * args.epochs / fit:10.0f} {_median([r['loss'] for r in records]):7.4f} "
            f"{peak:11.0f} {grown:8.0f}"
        )
    transforms = {}
    for records in runs.values():
        for label in (records[0].get("transform_s") or {}) if records else ():
            transforms[label] = _median([r["transform_s"][label] for r in records])
    if transforms:
        n_rows = next(iter(runs.values()))[0]["n_rows"]
        print()
        print(f"{'transform (encode all rows)':28s} {'s':>8s} {'rows/s':>12s} {'ratio':>6s}")
        ref = transforms.get("reference")
        for label, seconds in transforms.items():
            ratio = seconds / ref if ref else float("nan")
            print(f"{label:28s} {seconds:8.4f} {n_rows / seconds:12.0f} {ratio:6.2f}")


if __name__ == "__main__":
    main()
