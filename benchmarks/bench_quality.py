"""Quality of skdae's features on MNIST, next to PCA, an RBM and raw pixels.

Every model is fitted on the 60,000 training images and measured on the 10,000
test images:

* probe accuracy: StandardScaler + LogisticRegression trained on the training
  features, scored on the test features;
* clean RMSE: between the test images and their reconstruction;
* denoising RMSE: between the test images and the reconstruction of the test
  images corrupted once with Gaussian noise 0.5 (clipped to [0, 1], fixed seed).

    python benchmarks/bench_quality.py                     # the main rows (~20 min on 2 cores)
    python benchmarks/bench_quality.py --rows all          # every configuration (hours on a CPU)
    python benchmarks/bench_quality.py --rows seed,pca     # some rows
    python benchmarks/bench_quality.py --quick             # digits, 2 epochs: a smoke run
"""

import argparse
import time

import numpy as np

# The wider and deeper models of the search for a better 32-d code (60 epochs each).
GELU = dict(hidden_units=(1024, 512, 32), activation="gelu", noise_factor=0.5, max_epochs=60)
DEEP = dict(GELU, hidden_units=(1024, 512, 256, 32))

# name -> (label, parameters of a DenoisingAutoencoder, or of another skdae
# estimator named by "estimator")
DAE_CONFIGS = {
    "plain": ("128-64-32, noise 0", dict(hidden_units=(128, 64, 32), noise_factor=0.0)),
    "seed": ("128-64-32, noise 0.5 (the seed)", dict(hidden_units=(128, 64, 32), noise_factor=0.5)),
    "wide": ("512-256-32, noise 0.3", dict(hidden_units=(512, 256, 32), noise_factor=0.3)),
    "wide_linear": (
        "512-256-32, noise 0.3, linear_code=True",
        dict(hidden_units=(512, 256, 32), noise_factor=0.3, linear_code=True),
    ),
    "gelu_noise03": ("1024-512-32 gelu, noise 0.3, 60 epochs", dict(GELU, noise_factor=0.3)),
    "gelu": ("1024-512-32 gelu, noise 0.5, 60 epochs", GELU),
    "gelu_noise07": ("1024-512-32 gelu, noise 0.7, 60 epochs", dict(GELU, noise_factor=0.7)),
    "masking": ("1024-512-32 gelu, masking noise 0.5, 60 epochs", dict(GELU, noise_type="masking")),
    "long": ("1024-512-32 gelu, noise 0.5, 120 epochs", dict(GELU, max_epochs=120)),
    "deep_bn": ("1024-512-256-32 gelu, noise 0.5, batch_norm", dict(DEEP, batch_norm=True)),
    "deep_linear": ("1024-512-256-32 gelu, noise 0.5, linear_code", dict(DEEP, linear_code=True)),
    "deep_decay": (
        "1024-512-256-32 gelu, noise 0.5, weight_decay 1e-4",
        dict(DEEP, weight_decay=1e-4),
    ),
    "deep_no_decay": (
        "1024-512-256-32 gelu, noise 0.5, weight_decay 0",
        dict(DEEP, weight_decay=0.0),
    ),
    "conv": (
        "convolutional, channels 32-64, code 32, noise 0.5",
        dict(
            estimator="ConvDenoisingAutoencoder", channels=(32, 64), code_size=32, noise_factor=0.5
        ),
    ),
    "recommended": ("recommended: 1024-512-256-32 gelu, noise 0.5, 60 epochs", DEEP),
}
BASELINES = ("raw", "pca", "rbm")
ROWS = BASELINES + tuple(DAE_CONFIGS)
# The table and the recommendation: ~20 min on 2 CPU cores; "all" takes hours.
DEFAULT_ROWS = ("raw", "pca", "rbm", "plain", "seed", "wide", "recommended")


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a, dtype=np.float64) - b) ** 2)))


def probe(train, y_train, test, y_test):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return float(model.fit(train, y_train).score(test, y_test))


def noisy_copy(X, noise=0.5, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(X + noise * rng.standard_normal(X.shape, dtype=np.float32), 0, 1)


def run_row(name, data, epochs, device):
    X_train, y_train, X_test, y_test = data
    X_noisy = noisy_copy(X_test)
    start = time.perf_counter()
    if name == "raw":
        return (
            "raw pixels (784)",
            probe(X_train, y_train, X_test, y_test),
            None,
            rmse(X_noisy, X_test),
            0.0,
        )
    if name == "pca":
        from sklearn.decomposition import PCA

        model = PCA(n_components=32, random_state=0).fit(X_train)
        seconds = time.perf_counter() - start
        accuracy = probe(model.transform(X_train), y_train, model.transform(X_test), y_test)
        clean = rmse(model.inverse_transform(model.transform(X_test)), X_test)
        denoised = rmse(model.inverse_transform(model.transform(X_noisy)), X_test)
        return "PCA(32)", accuracy, clean, denoised, seconds
    if name == "rbm":
        from sklearn.neural_network import BernoulliRBM

        model = BernoulliRBM(n_components=32, learning_rate=0.06, n_iter=20, random_state=0)
        model.fit(X_train)
        seconds = time.perf_counter() - start
        accuracy = probe(model.transform(X_train), y_train, model.transform(X_test), y_test)
        return "BernoulliRBM(32)", accuracy, None, None, seconds

    import skdae

    label, params = DAE_CONFIGS[name]
    params = {"max_epochs": epochs, "batch_size": 256, **params}
    if epochs < 30:  # --epochs / --quick shorten every configuration
        params["max_epochs"] = epochs
    estimator = getattr(skdae, params.pop("estimator", "DenoisingAutoencoder"))
    model = estimator(random_state=0, device=device, **params).fit(X_train)
    seconds = time.perf_counter() - start
    accuracy = probe(model.transform(X_train), y_train, model.transform(X_test), y_test)
    clean = rmse(model.reconstruct(X_test), X_test)
    denoised = rmse(model.reconstruct(X_noisy), X_test)
    return label, accuracy, clean, denoised, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        default=",".join(DEFAULT_ROWS),
        help=f"'all', or some of {','.join(ROWS)} (default: {','.join(DEFAULT_ROWS)})",
    )
    parser.add_argument("--epochs", type=int, default=30, help="below 30: caps every config")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--quick", action="store_true", help="load_digits, 2 epochs")
    args = parser.parse_args(argv)
    names = list(ROWS) if args.rows == "all" else [n.strip() for n in args.rows.split(",")]
    names = [n for n in names if n]
    unknown = set(names) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows {sorted(unknown)}; choose from {ROWS}")

    if args.quick:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            (X / 16).astype(np.float32), y, test_size=0.25, random_state=0, stratify=y
        )
        args.epochs, dataset = 2, "digits (quick)"
    else:
        from skdae.datasets import load_mnist

        X_train, y_train = load_mnist(args.data_home, subset="train", return_X_y=True)
        X_test, y_test = load_mnist(args.data_home, subset="test", return_X_y=True)
        dataset = "MNIST"
    data = (X_train, y_train, X_test, y_test)

    print(
        f"# {dataset}: {len(X_train)} train / {len(X_test)} test rows; probe = StandardScaler + "
        "LogisticRegression; denoising = Gaussian noise 0.5, clipped"
    )
    print(f"| {'features':54s} | probe accuracy | clean RMSE | denoising RMSE | fit s |")
    print(f"| {'-' * 54} | --- | --- | --- | --- |")
    for name in names:
        label, accuracy, clean, denoised, seconds = run_row(name, data, args.epochs, args.device)

        def fmt(value):
            return "–" if value is None else f"{value:.4f}"

        print(
            f"| {label:54s} | {fmt(accuracy)} | {fmt(clean)} | {fmt(denoised)} | {seconds:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
