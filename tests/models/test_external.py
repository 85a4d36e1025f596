import math
import re

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


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("path,score\na.mp4,\n", "line 2: no score for a.mp4"),
        ("path,score\n,0.5\n", "line 2: no path"),
        ("path,score\na.mp4,0.1\nb.mp4,inf\n", "line 3: the score of b.mp4 is inf, not a finite number"),
        ("path,score\na.mp4,nan\n", "not a finite number"),
        ("path,score\na.mp4,0.1\nb.mp4,0.2\na.mp4,0.3\n", "line 4: a.mp4 is scored twice (also line 2)"),
        ("path,score\nx\\a.mp4,0.1\nx/a.mp4,0.3\n", "scored twice"),  # the same path written two ways
    ],
)
def test_every_row_is_checked(tmp_path, text, says):
    (tmp_path / "s.csv").write_text(text)
    with pytest.raises(ConfigError, match=re.escape(says)):
        ExternalScores(tmp_path / "s.csv")


def test_not_utf8_is_one_error(tmp_path):
    (tmp_path / "s.csv").write_bytes(b"path,score\n\xff\xfe,1\n")
    with pytest.raises(ConfigError, match="not a UTF-8 CSV"):
        ExternalScores(tmp_path / "s.csv")


def test_coverage_names_the_first_clip_without_a_score(tmp_path):
    (tmp_path / "s.csv").write_text("path,score\na/clip.mp4,0.1\nb/clip.mp4,0.2\nc.mp4,0.3\n")
    scores = ExternalScores(tmp_path / "s.csv")
    scores.check_covers(["a/clip.mp4", "c.mp4"], "test clips")
    with pytest.raises(ConfigError, match=r"for 2 of the 3 test clips, e\.g\. clip\.mp4"):
        scores.check_covers(["clip.mp4", "c.mp4", "d.mp4"], "test clips")  # ambiguous tail, then missing
