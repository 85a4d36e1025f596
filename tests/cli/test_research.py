"""`emoboost benchmark` refuses an external score file that would leak the held-out category."""

from emoboost.cli import run


def test_single_external_file_without_the_untrained_statement_exits_2(tmp_path, capsys):
    (tmp_path / "bench.yaml").write_text("name: tiny\nfolds: folds\nstore: store\n")
    (tmp_path / "avad.csv").write_text("path,score\na.mp4,0.5\n")
    code = run(
        [
            "benchmark",
            "--config",
            str(tmp_path / "bench.yaml"),
            "--out",
            str(tmp_path / "out"),
            "--external",
            f"avad={tmp_path / 'avad.csv'}",
        ]
    )
    message = capsys.readouterr().err
    assert code == 2
    assert "leaks the held-out category" in message and "--external-untrained" in message
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_external_untrained_accepts_one_file_and_folders_need_every_fold(tmp_path):
    import pytest

    from emoboost.errors import ConfigError
    from emoboost.models.external import ExternalDetector

    (tmp_path / "avad.csv").write_text("path,score\na.mp4,0.5\n")
    untrained = ExternalDetector.parse(f"avad={tmp_path / 'avad.csv'}", untrained=True)
    assert untrained.file_for("RVFA") == untrained.file_for("FVFA-GAN") == tmp_path / "avad.csv"
    (tmp_path / "per_fold").mkdir()
    (tmp_path / "per_fold" / "RVFA.csv").write_text("path,score\na.mp4,0.5\n")
    trained = ExternalDetector.parse(f"rf={tmp_path / 'per_fold'}")
    assert trained.scores_for("RVFA").name == "rf"
    with pytest.raises(ConfigError, match="no score file .*FVFA-GAN.csv"):
        trained.file_for("FVFA-GAN")
