"""The published-numbers block of the report is found without the checkout."""

from __future__ import annotations

from pathlib import Path

import emoboost.config
from emoboost.benchmark.report import anchors_block


def test_anchors_come_from_the_packaged_configs_outside_the_checkout(tmp_path, monkeypatch):
    packaged = tmp_path / "package" / "configs"
    (packaged / "benchmark").mkdir(parents=True)
    (packaged / "benchmark" / "anchors.yaml").write_text(
        "source: 'paper, table 1'\nprotocol: their split\n"
        "methods:\n  - {method: M, modality: AV, supervised: true, auc: {RVFA: 90.0}}\n  - {method: N, auc: {}}\n"
    )
    monkeypatch.setattr(emoboost.config, "packaged_configs", lambda: packaged)
    monkeypatch.chdir(tmp_path)  # no ./configs here
    block = anchors_block(Path("configs/benchmark/anchors.yaml"))
    assert "Source: paper, table 1." in block and "Protocol: their split" in block
    assert "| M | AV |  | yes | 90.0 | - | - | - | - | - |" in block and not any(
        line.startswith("| N ") for line in block
    )
    assert anchors_block(Path("configs/benchmark/missing.yaml")) == []
