"""onnxruntime against skdae's transform: agreement, throughput, file size.

Fits each model (the fully connected default 784-512-256-32 GELU, and the
convolutional (32, 64) GELU with a 32-unit code) for a few epochs, exports its
``transform`` with ``skl2onnx`` (``import skdae.onnx``) and its ``reconstruct``
with ``skdae.onnx.reconstruction_to_onnx``, and prints the largest difference
from skdae's outputs, the encoding throughput of both on the test rows (median
of 5 runs, float32 input, 2 threads each) and the size of the ONNX file.

    python benchmarks/bench_onnx.py                 # MNIST, 2 epochs
    python benchmarks/bench_onnx.py --quick         # digits, 1 epoch: a smoke run
"""

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

MODELS = {
    "fc": ("DenoisingAutoencoder", dict(hidden_units=(512, 256, 32))),
    "conv": ("ConvDenoisingAutoencoder", dict(channels=(32, 64), code_size=32, activation="gelu")),
}


def _median_seconds(function, repeats=5):
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
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.dataset, args.epochs = "digits", 1

    import onnxruntime as ort
    from skl2onnx import to_onnx

    import skdae
    import skdae.onnx

    if args.dataset == "digits":
        from sklearn.datasets import load_digits

        X = (load_digits().data / 16.0).astype(np.float32)
        X_train, X_test = X[:1400], X[1400:]
    else:
        from skdae.datasets import load_mnist

        X_train = load_mnist(args.data_home, subset="train", return_X_y=True)[0]
        X_test = load_mnist(args.data_home, subset="test", return_X_y=True)[0]
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    print(
        f"# {args.dataset}: {len(X_train)} training rows ({args.epochs} epochs), "
        f"{len(X_test)} test rows encoded; {torch.get_num_threads()} threads; "
        f"onnxruntime {ort.__version__}"
    )
    print(
        "| model | max abs diff, codes | max abs diff, reconstructions | skdae rows/s | "
        "onnxruntime rows/s | ratio | ONNX file |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, (cls, params) in MODELS.items():
        dae = getattr(skdae, cls)(**params, max_epochs=args.epochs, random_state=0, device="cpu")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dae.fit(X_train)
        encoder = to_onnx(dae, X_test[:1], target_opset=skdae.onnx.TARGET_OPSET)
        session = ort.InferenceSession(
            encoder.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        feed = {session.get_inputs()[0].name: X_test}
        codes = session.run(None, feed)[0]
        auto = skdae.onnx.reconstruction_to_onnx(dae)
        auto_session = ort.InferenceSession(
            auto.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        rebuilt = auto_session.run(None, {"X": X_test})[0]
        code_diff = float(np.abs(codes - dae.transform(X_test)).max())
        rec_diff = float(np.abs(rebuilt - dae.reconstruct(X_test)).max())
        ours = _median_seconds(lambda dae=dae: dae.transform(X_test))
        theirs = _median_seconds(lambda session=session, feed=feed: session.run(None, feed))
        size = len(encoder.SerializeToString())
        print(
            f"| {name} {params} | {code_diff:.2e} | {rec_diff:.2e} | {len(X_test) / ours:,.0f} | "
            f"{len(X_test) / theirs:,.0f} | {ours / theirs:.2f} | {size / 1e6:.2f} MB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
