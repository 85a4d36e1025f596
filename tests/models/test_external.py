import math

import pytest

from emoboost.errors import ConfigError
from emoboost.models.external import ExternalScores


def test_probabilities_become_logits_and_paths_match_by_tail(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("path,score\n/data/FakeAVCeleb/RealVideo-RealAudio/a/id00001/00001.mp4,0.5\nx/b.mp4,0.9\n")
    scores = ExternalScores(path)
    assert scores.name == "other" and scores.probabilities
    assert scores.logit("RealVideo-RealAudio/a/id00001/00001.mp4") == pytest.approx(0.0)
    assert scores.logit("x/b.mp4") == pytest.approx(math.log(9))
    assert math.isnan(scores.logit("missing.mp4"))


def test_raw_scores_are_logits_and_ambiguous_tails_do_not_match(tmp_path):
    path = tmp_path / "raw.csv"
    path.write_text("path,score\na/clip.mp4,-2.5\nb/clip.mp4,3.0\n")
    scores = ExternalScores(path)
    assert not scores.probabilities and scores.logit("a/clip.mp4") == -2.5
    assert math.isnan(scores.logit("clip.mp4"))  # two files end in clip.mp4: no guessing


def test_bad_score_files(tmp_path):
    (tmp_path / "cols.csv").write_text("file,prob\na.mp4,0.1\n")
    with pytest.raises(ConfigError, match="needs 'path' and 'score'"):
        ExternalScores(tmp_path / "cols.csv")
    (tmp_path / "nan.csv").write_text("path,score\na.mp4,high\n")
    with pytest.raises(ConfigError, match="not a number"):
        ExternalScores(tmp_path / "nan.csv")
    with pytest.raises(ConfigError, match="not found"):
        ExternalScores(tmp_path / "none.csv")
