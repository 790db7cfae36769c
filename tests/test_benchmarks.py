"""The benchmarks' smoke modes, so that they cannot rot. No timing is asserted."""

import subprocess
import sys
from pathlib import Path

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


def test_quality_benchmark_quick_mode_prints_every_row():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_quality", BENCHMARKS / "bench_quality.py")
    bench_quality = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_quality)
    out = _run("bench_quality.py", "--quick", "--rows", "all")
    labels = ["raw pixels", "PCA(32)", "BernoulliRBM(32)"]
    labels += [label.format(w=32) for label, _ in bench_quality.DAE_CONFIGS.values()]
    for label in labels:
        assert label in out


def test_speed_benchmark_quick_mode_runs_every_contender():
    out = _run("bench_speed.py", "--quick")
    for name in ["loop_ftz", "loop", "skdae", "skdae_compile", "skorch", "mlp", "mlp_f64", "pyod"]:
        assert any(line.startswith(name + " ") for line in out.splitlines()), name
    assert "reference" in out


def test_parallel_benchmark_quick_mode_reports_worker_threads():
    out = _run("bench_parallel.py", "--quick")
    assert "n_jobs" in out and "torch threads per fit" in out


def test_scale_benchmark_quick_mode_measures_both_methods():
    out = _run("bench_scale.py", "--quick")
    assert "transform" in out and "score_samples" in out


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


def test_onnx_benchmark_quick_mode_compares_both_models():
    import pytest

    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    out = _run("bench_onnx.py", "--quick")
    assert "| fc " in out and "| conv " in out


def test_distributed_benchmark_quick_mode_runs_one_and_two_processes():
    out = _run("bench_distributed.py", "--quick")
    rows = [line for line in out.splitlines() if line.startswith(("| 1 ×", "| 2 ×"))]
    assert len(rows) == 3, out
    assert "efficiency" in out


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
