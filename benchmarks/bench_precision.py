"""Whole fits in float32 and in bfloat16 mixed precision, for the recommended models.

Models: ``fc``, the fully connected default (784-512-256-32 GELU, the recommended
fully connected model); ``conv_dense``, the recommended image model (channels
(32, 64), a 256-unit dense layer, a 32-value code, GELU); ``fc_wide``,
784-1024-512-256-32 GELU (the model the mixed-precision issue measured 1.76× on
in a plain loop); ``conv``, the convolutional net without the dense layer.

Contenders: ``skdae`` (the estimator, a fixed number of epochs: every epoch
runs, ``n_iter_no_change`` = the epochs) and ``loop``, the tightest plain
PyTorch loop around the same module (built and initialised as skdae does it)
with the same training work: every row trains (skdae's default holds none
out: it validates only with early stopping), Gaussian noise 0.5 clipped to
[0, 1], fused Adam with weight decay on the weights, the loss on float32
logits, denormals flushed; in bfloat16 the forward pass under
``torch.autocast`` exactly as skdae does. What skdae adds is its bookkeeping:
the learning-rate schedule, ``monitor=True``'s gradient norm every batch and
activation probe every epoch, the per-batch finiteness check, the history.
The loop is the ceiling: what bfloat16 can give this model on this machine.

Each contender trains on MNIST in float32 and in ``precision="bfloat16"``,
everything interleaved and repeated; the table shows the median fit time, the
float32 / bfloat16 speed-up within each contender and skdae's time against the
loop's (each the median, and the range, of the ratios within a repeat: this
machine's speed drifts between repeats), the last epoch's training loss and,
for skdae, the probe accuracy of the codes (StandardScaler +
LogisticRegression on 10,000 training codes, scored on the test set).

    python benchmarks/bench_precision.py            # fc and conv_dense, 5 epochs, 3 repeats
    python benchmarks/bench_precision.py --models fc,fc_wide --contenders skdae,loop
    python benchmarks/bench_precision.py --quick    # digits, 1 epoch: a smoke run
"""

import argparse
import platform
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

MODELS = {
    "fc": ("DenoisingAutoencoder", dict(hidden_units=(512, 256, 32))),
    "conv_dense": (
        "ConvDenoisingAutoencoder",
        dict(channels=(32, 64), dense_units=(256,), code_size=32, activation="gelu"),
    ),
    "fc_wide": ("DenoisingAutoencoder", dict(hidden_units=(1024, 512, 256, 32))),
    "conv": (
        "ConvDenoisingAutoencoder",
        dict(channels=(32, 64), code_size=32, activation="gelu"),
    ),
}
PRECISIONS = ("float32", "bfloat16")
CONTENDERS = ("skdae", "loop")
NOISE, LR, WEIGHT_DECAY, BATCH_SIZE = 0.5, 1e-3, 1e-5, 256


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


def estimator(model, **params):
    import skdae

    name, model_params = MODELS[model]
    return getattr(skdae, name)(**model_params, **params)


def fit_skdae(model, precision, data, args):
    dae = estimator(
        model,
        max_epochs=args.epochs,
        n_iter_no_change=args.epochs,  # every epoch runs: the same work in both precisions
        batch_size=args.batch_size,
        noise_factor=NOISE,
        learning_rate=LR,
        weight_decay=WEIGHT_DECAY,
        precision=precision,
        device=args.device,
        random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fixed number of epochs: no convergence asked for
        dae.fit(data[0])
    return time.perf_counter() - start, dae.loss_, dae


def fit_loop(model, precision, data, args):
    """The plain loop: skdae's module, nothing between the batches and Adam."""
    from skdae._runtime import denormals_flushed

    start = time.perf_counter()  # a whole fit: the module and the optimizer too
    device = torch.device(args.device)
    generator = torch.Generator(device=device).manual_seed(0)
    X = torch.from_numpy(np.ascontiguousarray(data[0], dtype=np.float32)).to(device)
    module = estimator(model)._build_module(X.shape[1], device="meta").to_empty(device=device)
    module.reset_parameters(generator)  # skdae's init, from the fit's own generator
    named = list(module.named_parameters())
    optimizer = torch.optim.Adam(
        [
            {"params": [p for n, p in named if not n.endswith("bias")]},
            {"params": [p for n, p in named if n.endswith("bias")], "weight_decay": 0.0},
        ],
        lr=LR,
        weight_decay=WEIGHT_DECAY,
        fused=True,
    )
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")
    train_loss = float("nan")
    with denormals_flushed(device):
        module.train()
        for _ in range(args.epochs):
            total = torch.zeros((), device=device)
            order = torch.randperm(len(X), generator=generator, device=device)
            for i in range(0, len(X), args.batch_size):
                clean = X[order[i : i + args.batch_size]]
                noise = torch.randn(clean.shape, generator=generator, device=device)
                noisy = noise.mul_(NOISE).add_(clean).clamp_(0.0, 1.0)
                with autocast:
                    logits = module(noisy)
                loss = F.binary_cross_entropy_with_logits(logits.float(), clean)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach() * len(clean)
            train_loss = (total / len(X)).item()  # one sync per epoch
    return time.perf_counter() - start, train_loss, None


FIT = {"skdae": fit_skdae, "loop": fit_loop}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=["mnist", "digits"], default="mnist")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--models", default="fc,conv_dense", help=f"of {', '.join(MODELS)}")
    parser.add_argument("--contenders", default="skdae,loop", help="of skdae, loop")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="digits, 1 epoch, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.dataset, args.epochs, args.repeats = "digits", 1, 1
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = (set(models) - set(MODELS)) | (set(contenders) - set(CONTENDERS))
    if unknown:
        parser.error(f"unknown models or contenders: {sorted(unknown)}")
    if not models or not contenders or args.epochs < 1:
        parser.error("give at least one model, one contender and one epoch")
    from skdae._runtime import bfloat16_supported

    device = torch.device(args.device)
    precisions = [p for p in PRECISIONS if p == "float32" or bfloat16_supported(device)]
    data = load(args)
    print(
        f"# {args.dataset}, {len(data[0])} training rows, "
        f"{args.epochs} epochs, batch {args.batch_size}, median of {args.repeats}; "
        f"{platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}, device {device}"
    )
    if len(precisions) == 1:
        print("# this device has no bfloat16 arithmetic: float32 only")
    print(
        "| model | contender | precision | fit s | s/epoch | speed-up vs float32 "
        "| skdae / loop | last loss | probe accuracy |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    warm_up = argparse.Namespace(**{**vars(args), "epochs": 1})
    small = (data[0][: 4 * args.batch_size], *data[1:])
    for contender in contenders:  # imports, thread pools, oneDNN's kernels: not timed
        for precision in precisions:
            FIT[contender](models[0], precision, small, warm_up)
    for model in models:
        seconds = {(c, p): [] for c in contenders for p in precisions}
        results = {}
        for _ in range(args.repeats):
            for contender in contenders:  # interleaved: drifts of the machine hit every one
                for precision in precisions:
                    elapsed, loss, dae = FIT[contender](model, precision, data, args)
                    seconds[contender, precision].append(elapsed)
                    results[contender, precision] = loss, dae
        median = {key: statistics.median(values) for key, values in seconds.items()}
        for contender in contenders:
            for precision in precisions:
                loss, dae = results[contender, precision]
                time_s = median[contender, precision]
                speed_up = paired(seconds[contender, "float32"], seconds[contender, precision])
                versus_loop = (
                    paired(seconds[contender, precision], seconds["loop", precision], "")
                    if contender == "skdae" and "loop" in contenders
                    else ""
                )
                accuracy = f"{probe(dae, *data):.4f}" if dae is not None else ""
                print(
                    f"| {model} | {contender} | {precision} | {time_s:.1f} | "
                    f"{time_s / args.epochs:.2f} | {speed_up} | {versus_loop} | "
                    f"{loss:.4f} | {accuracy} |"
                )


def paired(numerators, denominators, unit="×"):
    """The median, and the range, of the ratios within each repeat: fits run back to
    back share the machine's state of the moment, which drifts between repeats."""
    ratios = sorted(a / b for a, b in zip(numerators, denominators, strict=True))
    text = f"{statistics.median(ratios):.2f}{unit}"
    if len(ratios) > 1:
        text += f" ({ratios[0]:.2f}–{ratios[-1]:.2f})"
    return text


if __name__ == "__main__":
    main()
