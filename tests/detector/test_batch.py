"""Batches: a verdict or a failure per input, in order; a rerun resumes; extras never cost verdicts."""

import pytest

from emoboost.detector.batch import as_paths, run_batch
from emoboost.detector.detector import Detector
from emoboost.detector.outputs import ResultLog
from emoboost.detector.verdict import Failure, Verdict


@pytest.fixture(scope="module")
def detector():
    return Detector.untrained()


def test_predict_on_a_list_returns_every_verdict_and_every_failure_in_order(detector, talking_clip, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.mp4"
    results = detector.predict([talking_clip, missing, empty, str(talking_clip).encode()])
    assert [type(r) for r in results] == [Verdict, Failure, Failure, Verdict]
    assert results[1].code == "missing_file" and results[2].code == "empty_file"
    assert str(missing) in results[1].message and results[1].to_dict()["error_type"] == "missing_file"
    assert results[0].sha256 == results[3].sha256  # the bytes path names the same file
    with pytest.raises(TypeError, match="expected a path"):
        detector.predict([talking_clip, 3])


def test_a_single_path_in_bytes_is_one_file_not_a_list_of_characters(tmp_path):
    one, paths = as_paths(b"clip.mp4")
    assert one and paths[0].name == "clip.mp4"
    assert as_paths(["a.mp4", tmp_path / "b.mp4"])[0] is False


def test_run_batch_resumes_keeps_failures_and_a_failing_extra_never_costs_the_verdict(detector, talking_clip, tmp_path):
    missing = tmp_path / "missing.mp4"
    output = tmp_path / "verdicts.jsonl"
    seen, extra_failures = [], []

    def broken_plot(verdict):
        raise OSError(28, "No space left on device")

    log = ResultLog(output, "json")
    first = run_batch(
        detector,
        [talking_clip, missing],
        log=log,
        extras={"timeline": broken_plot},
        on_result=lambda path, result, entry: seen.append((path, type(result).__name__)),
        on_extra_failed=lambda verdict, what, cause: extra_failures.append((what, cause)),
    )
    log.close()
    assert seen == [(talking_clip, "Verdict"), (missing, "Failure")]
    assert extra_failures == [("timeline", "No space left on device")]
    assert len(first.entries) == 1 and len(first.failures) == 1 and first.unwritten == 1 and first.exit_code == 1
    log = ResultLog(output, "json")
    again = run_batch(detector, [talking_clip, missing], log=log)
    log.close()
    assert again.resumed == 1 and again.entries == first.entries  # the verdict is taken as written
    assert len(again.failures) == 1 and again.exit_code == 1  # the failure is tried again, and fails again


@pytest.mark.parametrize(
    "options",
    [
        {"threshold": float("nan")},
        {"threshold": float("inf")},
        {"prior": float("nan")},
        {"target_fpr": float("nan")},
        {"target_fpr": 2.0},
    ],
)
def test_decision_numbers_are_checked_before_any_file_is_read(detector, options):
    from emoboost.errors import ConfigError

    with pytest.raises(ConfigError):
        detector.predict(["never-read.mp4"], **options)
