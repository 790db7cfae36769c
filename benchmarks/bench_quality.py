"""Quality of skdae's features next to raw pixels, PCA and an RBM, on digits and MNIST.

Every contender is fitted on the same rows, once per seed (``--seeds``, 3 by
default), and each row of the table is the mean ± standard deviation over the
seeds, with the mean fit time and, for skdae, the epochs it trained.

* digits (scikit-learn's, X / 16): the 5-fold cross-validated accuracy of
  ``Pipeline([features, LogisticRegression(max_iter=1000)])`` (the features
  are fitted on the training folds only);
* MNIST (60,000 training / 10,000 test images): the probe accuracy of
  ``StandardScaler + LogisticRegression`` trained on the training features and
  scored on the test features; the RMSE of the reconstruction of the clean test
  images; the denoising RMSE (the test images corrupted once with Gaussian
  noise 0.5, clipped to [0, 1], fixed seed, against the clean ones).

Rows with a width (``{w}`` in their label) run once per ``--widths`` entry.

    python benchmarks/bench_quality.py                                # digits, the main rows
    python benchmarks/bench_quality.py --dataset mnist --seeds 1      # MNIST (hours on 2 cores)
    python benchmarks/bench_quality.py --rows raw,rbm,width --widths 100
    python benchmarks/bench_quality.py --rows all                     # every configuration
    python benchmarks/bench_quality.py --quick                        # digits, 2 epochs
    python benchmarks/bench_quality.py --smoke                        # seconds: it runs
"""

import argparse
import time
import warnings

import numpy as np

# The wider and deeper fully connected models of the earlier search for a better 32-d code.
GELU = dict(hidden_units=(1024, 512, 32), activation="gelu", batch_size=256)
DEEP = dict(GELU, hidden_units=(1024, 512, 256, 32))
# The seed's two networks, with the seed's settings pinned (not today's defaults).
SEED_MLP = dict(hidden_units=(128, 64, 32), activation="relu", batch_size=256)
SEED_CONV = dict(
    estimator="ConvDenoisingAutoencoder",
    channels=(16, 8, 8),
    downsampling="maxpool",
    code_size=None,
    activation="relu",
    batch_size=256,
)
W = "{w}"  # the row's width
CONV_DENSE = dict(  # the recommended image model
    estimator="ConvDenoisingAutoencoder",
    channels=(32, 64),
    activation="gelu",
    dense_units=(256,),
    code_size=W,
)

# name -> (label, parameters of a DenoisingAutoencoder, or of the skdae estimator
# named by "estimator"); W in a parameter (or in a tuple) is the width.
DAE_CONFIGS = {
    "width": (
        "skdae, only the width set: hidden_units=(512, 256, {w})",
        dict(hidden_units=(512, 256, W)),
    ),
    "one_layer": ("skdae, one layer: hidden_units={w}", dict(hidden_units=W)),
    "seed": ("the seed's MLP: 128-64-32 relu, batch 256", SEED_MLP),
    "seed_conv": ("the seed's conv net: (16, 8, 8) maxpool, 128-d map", SEED_CONV),
    "seed_conv_code": (
        "the seed's conv net + a {w}-unit code layer",
        dict(SEED_CONV, code_size=W),
    ),
    "seed_conv_map32": (
        "the seed's conv net, (16, 8, 2): a 32-d map",
        dict(SEED_CONV, channels=(16, 8, 2)),
    ),
    "relu": (
        "hidden_units=(512, 256, {w}), relu",
        dict(hidden_units=(512, 256, W), activation="relu"),
    ),
    "linear_code": (
        "hidden_units=(512, 256, {w}), linear code",
        dict(hidden_units=(512, 256, W), code_activation="linear"),
    ),
    "batch256": (
        "hidden_units=(512, 256, {w}), batch 256",
        dict(hidden_units=(512, 256, W), batch_size=256),
    ),
    "batch64": (
        "hidden_units=(512, 256, {w}), batch 64",
        dict(hidden_units=(512, 256, W), batch_size=64),
    ),
    "gelu": ("1024-512-32 gelu, batch 256", GELU),
    "deep": ("1024-512-256-32 gelu, batch 256", DEEP),
    "conv": (
        "conv (32, 64) stride, code {w}",
        dict(estimator="ConvDenoisingAutoencoder", channels=(32, 64), code_size=W),
    ),
    "conv_gelu": (
        "conv (32, 64) stride, gelu, code {w}",
        dict(
            estimator="ConvDenoisingAutoencoder",
            channels=(32, 64),
            activation="gelu",
            code_size=W,
        ),
    ),
    "conv_dense": (
        "conv (32, 64) stride, gelu, dense 256, code {w}",
        CONV_DENSE,
    ),
    "seed_conv_code_gelu": (
        "the seed's conv net, gelu + a {w}-unit code layer",
        dict(SEED_CONV, activation="gelu", code_size=W),
    ),
    "width_bf16": (
        "hidden_units=(512, 256, {w}), precision='bfloat16'",
        dict(hidden_units=(512, 256, W), precision="bfloat16"),
    ),
    "conv_gelu_bf16": (
        "conv (32, 64) stride, gelu, code {w}, precision='bfloat16'",
        dict(
            estimator="ConvDenoisingAutoencoder",
            channels=(32, 64),
            activation="gelu",
            code_size=W,
            precision="bfloat16",
        ),
    ),
    "conv_dense_bf16": (
        "conv (32, 64) stride, gelu, dense 256, code {w}, precision='bfloat16'",
        dict(CONV_DENSE, precision="bfloat16"),
    ),
    "conv_pool": (
        "conv (32, 64) maxpool, code {w}",
        dict(
            estimator="ConvDenoisingAutoencoder",
            channels=(32, 64),
            downsampling="maxpool",
            code_size=W,
        ),
    ),
}
BASELINES = ("raw", "pca", "rbm")
ROWS = BASELINES + tuple(DAE_CONFIGS)
DEFAULT_ROWS = ("raw", "pca", "rbm", "width", "one_layer", "seed")


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a, dtype=np.float64) - b) ** 2)))


def noisy_copy(X, noise=0.5, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(X + noise * rng.standard_normal(X.shape, dtype=np.float32), 0, 1)


def make_features(name, width, seed, device):
    """``(label, unfitted transformer or "passthrough")`` of a row."""
    if name == "raw":
        return "raw pixels", "passthrough"
    if name == "pca":
        from sklearn.decomposition import PCA

        return f"PCA({width})", PCA(n_components=width, random_state=seed)
    if name == "rbm":
        from sklearn.neural_network import BernoulliRBM

        return f"BernoulliRBM({width})", BernoulliRBM(n_components=width, random_state=seed)
    import skdae

    label, params = DAE_CONFIGS[name]

    def at_width(value):
        if isinstance(value, tuple):
            return tuple(at_width(v) for v in value)
        return width if value == W else value

    params = {k: at_width(v) for k, v in params.items()}
    estimator = getattr(skdae, params.pop("estimator", "DenoisingAutoencoder"))
    return label.format(w=width), estimator(random_state=seed, device=device, **params)


def precision_available(features, device):
    """Whether the device computes in the row's precision (bfloat16 needs hardware)."""
    if getattr(features, "precision", "float32") != "bfloat16":
        return True
    from skdae._runtime import bfloat16_supported, resolve_device

    return bfloat16_supported(resolve_device(device))


def has_width(name):
    return name in ("pca", "rbm") or W in DAE_CONFIGS.get(name, ("", {}))[0]


def run_digits(features, X, y, folds=5):
    """k-fold accuracy of Pipeline([features, LogisticRegression]): (scores, fit s, epochs)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_validate
    from sklearn.pipeline import Pipeline

    pipe = Pipeline([("features", features), ("lr", LogisticRegression(max_iter=1000))])
    result = cross_validate(pipe, X, y, cv=folds, return_estimator=True)
    epochs = [getattr(p[0], "n_iter_", None) for p in result["estimator"]]
    epochs = None if None in epochs else float(np.mean(epochs))
    return (
        {"accuracy": float(np.mean(result["test_score"]))},
        float(np.mean(result["fit_time"])),
        epochs,
    )


def run_mnist(features, data):
    """Probe accuracy and RMSEs on MNIST's test set: (scores, fit s, epochs)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X_train, y_train, X_test, y_test = data
    start = time.perf_counter()
    if features == "passthrough":
        train, test = X_train, X_test
    else:
        train = features.fit_transform(X_train)
        test = features.transform(X_test)
    seconds = time.perf_counter() - start
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    scores = {"accuracy": float(probe.fit(train, y_train).score(test, y_test))}
    X_noisy = noisy_copy(X_test)
    if features == "passthrough":
        scores["denoising"] = rmse(X_noisy, X_test)
    elif hasattr(features, "reconstruct"):
        scores["clean"] = rmse(features.reconstruct(X_test), X_test)
        scores["denoising"] = rmse(features.reconstruct(X_noisy), X_test)
    elif hasattr(features, "inverse_transform"):  # PCA
        scores["clean"] = rmse(features.inverse_transform(test), X_test)
        scores["denoising"] = rmse(features.inverse_transform(features.transform(X_noisy)), X_test)
    return scores, seconds, getattr(features, "n_iter_", None)


def summary(values, digits=4):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def load(dataset, data_home):
    if dataset == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X / 16.0).astype(np.float32), y
    from skdae.datasets import load_mnist

    X_train, y_train = load_mnist(data_home, subset="train", return_X_y=True)
    X_test, y_test = load_mnist(data_home, subset="test", return_X_y=True)
    return X_train, y_train, X_test, y_test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    parser.add_argument(
        "--rows",
        default=",".join(DEFAULT_ROWS),
        help=f"'all', or some of {','.join(ROWS)} (default: {','.join(DEFAULT_ROWS)})",
    )
    parser.add_argument("--widths", default="32,100", help="widths of the rows that have one")
    parser.add_argument("--seeds", type=int, default=3, help="fits per row, random_state 0..N-1")
    parser.add_argument("--max-epochs", type=int, default=None, help="caps every skdae row")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--quick", action="store_true", help="digits, 1 seed, 2 epochs")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="the first 300 digits, 2 folds, 1 epoch: that the script runs, in seconds (the "
        "figures mean nothing)",
    )
    args = parser.parse_args(argv)
    names = list(ROWS) if args.rows == "all" else [n.strip() for n in args.rows.split(",") if n]
    unknown = set(names) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows {sorted(unknown)}; choose from {ROWS}")
    widths = [int(w) for w in args.widths.split(",")]
    folds = 5
    if args.quick or args.smoke:
        args.dataset, args.seeds, args.max_epochs, widths = "digits", 1, 2, [32]
    data = load(args.dataset, args.data_home)
    if args.smoke:
        args.max_epochs, folds = 1, 2
        data = tuple(part[:300] for part in data)
    if args.dataset == "digits":
        print(
            f"# digits: {len(data[0])} rows, {folds}-fold CV accuracy of Pipeline([features, "
            f"LogisticRegression]); mean ± std over {args.seeds} seed(s)"
        )
    else:
        print(
            f"# MNIST: {len(data[0])} train / {len(data[2])} test rows; probe = StandardScaler + "
            "LogisticRegression on the test set; denoising = Gaussian noise 0.5, clipped; "
            f"mean ± std over {args.seeds} seed(s)"
        )
    print("| features | width | accuracy | clean RMSE | denoising RMSE | epochs | fit s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        for width in widths if has_width(name) else [None]:
            if name == "pca" and width > data[0].shape[1]:
                continue  # PCA has at most as many components as features
            runs, label = [], None
            label, features = make_features(name, width, 0, args.device)
            if not precision_available(features, args.device):
                print(f"| {label} | {width or '–'} | no bfloat16 on this device | | | | |")
                continue
            for seed in range(1 if name == "raw" else args.seeds):
                label, features = make_features(name, width, seed, args.device)
                if args.max_epochs and hasattr(features, "max_epochs"):
                    features.set_params(max_epochs=args.max_epochs)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # ConvergenceWarning of short runs
                    if args.dataset == "digits":
                        runs.append(run_digits(features, *data, folds=folds))
                    else:
                        runs.append(run_mnist(features, data))
            scores = [r[0] for r in runs]
            out_width = width if width is not None else "–"
            print(
                f"| {label} | {out_width} | {summary([s['accuracy'] for s in scores])} | "
                f"{summary([s.get('clean') for s in scores])} | "
                f"{summary([s.get('denoising') for s in scores])} | "
                f"{summary([r[2] for r in runs], digits=0)} | "
                f"{np.mean([r[1] for r in runs]):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
