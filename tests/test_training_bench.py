"""bench/training.py: pipeline against in-memory feeding, GFLOP/s against the measured peak, CPU speed settings."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_training_bench_prints_each_figure_and_each_setting(manifest, tmp_path):
    from utils.models.cost import bf16_supported

    env = {**os.environ, "CATSDOGS_HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "training.py"), "--profile", "smoke", "--images", "64",
                             "--epochs", "1", "--rounds", "1", "--settings"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    ratio = float(re.search(r"ratio pipeline / tensors \(same options\):\s+([\d.]+)", out).group(1))
    assert 0 < ratio < 10
    alone, feeding, share = re.search(r"real input pipeline alone, no model:\s+([\d.]+) images/s: feeding training at "
                                      r"([\d.]+) images/s asks about ([\d.]+)% of what it can deliver", out).groups()
    pipeline = float(re.search(r"real input pipeline \(cache='memory'\):\s+([\d.]+) images/s", out).group(1))
    # the same figure, printed twice; with no model behind it the pipeline only reads and batches: faster
    assert float(feeding) == pipeline and float(alone) > pipeline
    assert abs(float(share) - 100 * pipeline / float(alone)) < 0.1 + 0.01 * float(share)
    assert re.search(r"achieved: [\d.]+ GFLOP/s .* \d+% of peak", out)
    assert re.search(r"training reaches \d+% of the former", out)
    # the default variant computes in bfloat16 where the CPU has it: then its peak is a bfloat16 matmul's too
    bf16_peak = re.search(r"a 2048x2048 bfloat16 matmul reaches [\d.]+ GFLOP/s in TensorFlow; training "
                          r"\(computing in bfloat16\) reaches \d+% of that", out)
    assert bool(bf16_peak) == bf16_supported(), out
    settings = dict(re.findall(r"^  (float32, TensorFlow's defaults|bfloat16 mixed precision|XLA \(jit_compile=True\)|"
                               r"bfloat16 and XLA|one intra-op thread|bfloat16, one intra-op thread):\s+(.+)$",
                               out, flags=re.M))
    assert len(settings) == 6 and settings["float32, TensorFlow's defaults"].endswith("1.00x")
    bf16 = settings["bfloat16 mixed precision"]
    assert (bf16.endswith("x") and "images/s" in bf16) if bf16_supported() else bf16.startswith("not available")
    bf16_one_thread = settings["bfloat16, one intra-op thread"]
    assert (bf16_one_thread.endswith("x") if bf16_supported() else bf16_one_thread.startswith("not available"))
