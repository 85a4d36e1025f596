"""`emoboost extract --engine ray`: a local Ray cluster writes the records the local engine writes."""

from __future__ import annotations

import factory
import numpy as np
import pytest

from emoboost.cli import run
from emoboost.config import ExtractConfig
from emoboost.features.distributed import extract_with_ray, shutdown
from emoboost.features.extract import extract_many
from emoboost.features.store import FeatureStore

pytestmark = pytest.mark.slow


def test_ray_engine_matches_the_local_engine_and_resumes(
    tmp_path, talking_clip, faceless_clip, extractor, capfd, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    other = factory.talking_clip(tmp_path / "other take.mp4", seconds=2.0, text="A second clip, said another way.")
    (tmp_path / "notes.mp4").write_text("not a video\n" * 20)
    paths = [talking_clip, other, faceless_clip, tmp_path / "notes.mp4"]
    local = extract_many(paths, FeatureStore(tmp_path / "local"), extractor)
    try:
        remote = extract_with_ray(paths, tmp_path / "ray", ExtractConfig(), workers=2)
    finally:
        shutdown()
    # same outcome per file, the same one-line messages, in input order
    assert [(o.path, o.status, o.message) for o in remote.outcomes] == [
        (o.path, o.status, o.message) for o in local.outcomes
    ]
    assert remote.line() == "2 done, 0 skipped, 2 failed"
    local_store, ray_store = FeatureStore(tmp_path / "local"), FeatureStore(tmp_path / "ray")
    assert sorted(p.relative_to(local_store.root) for p in local_store) == sorted(
        p.relative_to(ray_store.root) for p in ray_store
    )
    for path in (talking_clip, other):
        a, b = local_store.get(path), ray_store.get(path)
        assert a.sha256 == b.sha256 and a.meta["extraction_key"] == b.meta["extraction_key"]
        np.testing.assert_array_equal(a.face_mask, b.face_mask)
        np.testing.assert_array_equal(a.crop_frames, b.crop_frames)
        # one torch thread per actor vs two locally: sums in another order, the same features
        for name in ("visual", "expressions", "speech", "boxes", "logmel"):
            np.testing.assert_allclose(
                getattr(a, name).astype(np.float32),
                getattr(b, name).astype(np.float32),
                atol=2e-3,
                rtol=1e-3,
                err_msg=name,
            )
        assert np.abs(a.face_crops.astype(int) - b.face_crops.astype(int)).max() <= 1
    capfd.readouterr()

    # through the command line: the finished files are skipped, the failures named again, exit 1
    code = run(["extract", *map(str, paths), "--out", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2"])
    captured = capfd.readouterr()
    assert code == 1
    assert "0 done, 2 skipped, 2 failed" in captured.out
    errors = [line for line in captured.err.splitlines() if line.strip()]
    assert len(errors) == 2 and all(line.startswith("error ") for line in errors), captured.err
    assert "Traceback" not in captured.err
