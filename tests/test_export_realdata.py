"""The CI parity job: model4 trained briefly on the real data, exported int8, gated by parity.

Skips (with the reason) when the dataset or the MobileNetV2 weights are unavailable; see
tests/conftest.py for PAWLITE_DATA_URL / PAWLITE_BASE_WEIGHTS.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from export.cli import GATE_FAILED, app

# The owner's CI gate, in `make test`: about 2.5 minutes on 2 cores. Training differs between
# CPUs (AVX2 vs AVX-512) and runs: on the AVX-512 CI machine this model lost 2 of 192 test
# images to int8 (-1.04 points, 95% interval -2.48 to +0.39), which a flat 1-point limit on
# 192 images failed on chance; the gate now applies the limit on the 1,000-image folder and
# fails the test split only for a loss beyond chance (export.parity.gate_checks). The rules are
# one-sided (a gain never fails), so this job passes because int8 loses no more than the
# margin, not because it lands within +-1 point.
pytestmark = pytest.mark.realdata

CI_EPOCHS = 2


def test_briefly_trained_model4_passes_the_int8_parity_gate(real_split, base_weights_path,
                                                            tmp_path):
    from train.config import TrainConfig
    from train.study import run_study

    config = TrainConfig(
        base_weights=base_weights_path, out=tmp_path, epochs=CI_EPOCHS, models=(4,)
    )
    run_study(config, real_split, echo=lambda line: None)
    split_path = tmp_path / "split.json"
    real_split.save(split_path)
    result = CliRunner().invoke(app, [
        "--model", str(tmp_path / "model4.keras"), "--split", str(split_path),
        "--out", str(tmp_path), "--no-resize-study", "--latency-runs", "10",
    ])
    assert result.exit_code != GATE_FAILED, f"the int8 parity gate failed:\n{result.output}"
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "model4_parity" / "parity.json").read_text())
    (row,) = report["variants"]
    assert row["size_bytes"] <= 3_000_000
    assert (row["sets"]["test"]["n"], row["sets"]["validation_folder"]["n"]) == (192, 1000)
    assert row["calibration"]["bias_correction_images"] == 64
    for name in row["figures"]["files"].values():
        assert name is None or (tmp_path / "model4_parity" / name).is_file()
