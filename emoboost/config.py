"""Configuration: YAML files loaded into frozen, validated dataclasses.

The shipped YAML files are the checkout's top-level ``configs/``, installed as the package data
``emoboost.configs`` (one copy; read with importlib.resources).
A reference ``configs/<dir>/<file>.yaml`` names a file under the working directory when one exists
there, else the packaged one (:func:`resolve_config`), so defaults never depend on where the
program runs. Each component owns one dataclass; the defaults here are the documented defaults and
``configs/default.yaml`` repeats them (a test keeps the two equal). Unknown keys and wrong types are
rejected with a :class:`~emoboost.errors.ConfigError` that names the key.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import types
import typing
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from emoboost.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
CONFIGS = "configs"  # the first part of a config reference that may name a packaged file


@dataclasses.dataclass(frozen=True)
class MediaConfig:
    """Decoding. The 25 fps / 16 kHz grid itself is fixed (see :mod:`emoboost.media.decode`)."""

    max_side: int = 1280  # frames are decoded scaled so their longer side is at most this (0: native)
    max_pixels: int = 7680 * 4320  # larger frames (from the header, before decoding) are refused (0: no limit)
    # grid frames decoded in one burst before they are handed on (fewer for large frames; bounds memory)
    chunk_frames: int = 50
    min_duration_s: float = 1.0  # shorter clips are rejected as too short
    max_duration_s: float = 1800.0  # only the first this many seconds are analysed (the verdict says so); 0: no limit
    max_frame_gap_s: float = 60.0  # consecutive frames further apart than this: broken timestamps, the file is refused

    def validate(self) -> None:
        require(self.max_side >= 0, "media.max_side must be >= 0")
        require(self.max_pixels >= 0, "media.max_pixels must be >= 0")
        require(self.chunk_frames >= 1, "media.chunk_frames must be >= 1")
        require(self.min_duration_s >= 0, "media.min_duration_s must be >= 0")
        require(
            self.max_duration_s == 0 or self.max_duration_s >= self.min_duration_s,
            "media.max_duration_s must be 0 or >= media.min_duration_s",
        )
        require(self.max_frame_gap_s > 0, "media.max_frame_gap_s must be > 0")


@dataclasses.dataclass(frozen=True)
class FaceConfig:
    """Face detection (MTCNN) and tracking."""

    stride: int = 5  # detect on every k-th grid frame, interpolate boxes in between
    detect_max_side: int = 480  # keyframes are downscaled to this longer side for detection
    min_face_size: int = 20  # MTCNN minimum face size, in pixels at detection resolution
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)  # MTCNN P/R/O-net thresholds
    min_prob: float = 0.9  # detections below this probability are ignored
    iou_min: float = 0.3  # a detection continues the track when IoU with its last box >= this
    max_gap_s: float = 1.0  # the track is dropped after this long without a matching detection
    margin: float = 0.25  # crop side = (1 + margin) * max(box width, box height)
    # frames per MTCNN call when several are searched at once (the tracker searches one keyframe at a time)
    batch_size: int = 16
    # whole-frame detection at least this often; in between, MTCNN's O-Net refines the track's box (0: every keyframe)
    rescan_s: float = 4.0
    # no face at all in this many seconds: stop scanning (no-face error, or audio-only verdict); 0: scan it all
    give_up_s: float = 60.0

    def validate(self) -> None:
        require(self.stride >= 1, "faces.stride must be >= 1")
        require(self.detect_max_side >= 64, "faces.detect_max_side must be >= 64")
        require(0 < self.min_prob <= 1, "faces.min_prob must be in (0, 1]")
        require(0 <= self.iou_min < 1, "faces.iou_min must be in [0, 1)")
        require(self.margin >= 0, "faces.margin must be >= 0")
        require(self.batch_size >= 1, "faces.batch_size must be >= 1")
        require(self.rescan_s >= 0, "faces.rescan_s must be >= 0")
        require(self.give_up_s >= 0, "faces.give_up_s must be >= 0")
        require(all(0 < t < 1 for t in self.thresholds), "faces.thresholds must be in (0, 1)")


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Which emotion encoders to run.

    Names: ``fer-minixception``, ``face-geometry`` (``a+b`` concatenates) / ``egemaps`` or ``hf:<repo or dir>``."""

    visual: str = "face-geometry+fer-minixception"  # the probe table in docs/results.md and docs/decisions.md
    speech: str = "egemaps"
    batch_size: int = 64  # face crops per visual-encoder call
    local_files_only: bool = False  # never touch the network for ``hf:`` models (also: HF_HUB_OFFLINE=1)
    speech_clip_normalisation: bool = (
        True  # egemaps: standardise descriptors over each clip (false: absolute levels only)
    )
    vad_threshold: float = 0.5  # Silero VAD speech probability at which a grid frame counts as speech (the audio mask)
    face_mesh_stride: int = (
        5  # face-geometry: face mesh on every k-th grid frame with a face, held in between (5: token rate)
    )

    def validate(self) -> None:
        require(bool(self.visual), "encoders.visual must name an encoder")
        require(bool(self.speech), "encoders.speech must name an encoder")
        require(self.batch_size >= 1, "encoders.batch_size must be >= 1")
        require(0 < self.vad_threshold < 1, "encoders.vad_threshold must be in (0, 1)")
        require(self.face_mesh_stride >= 1, "encoders.face_mesh_stride must be >= 1")


@dataclasses.dataclass(frozen=True)
class LowLevelConfig:
    """Inputs kept for the low-level (artefact) detectors: face crops at a few fps, a log-mel spectrogram."""

    crop_size: int = 112  # aligned RGB face crops, pixels
    crop_stride: int = 10  # keep a crop every k-th grid frame (10: 2.5 fps)
    n_mels: int = 64  # log-mel bands of the 16 kHz track (25 ms window, 10 ms hop)

    def validate(self) -> None:
        require(self.crop_size >= 16, "lowlevel.crop_size must be >= 16")
        require(self.crop_stride >= 1, "lowlevel.crop_stride must be >= 1")
        require(self.n_mels >= 8, "lowlevel.n_mels must be >= 8")


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """Where extraction runs. A property of the machine, not of a model: detectors do not keep it."""

    device: str = "cpu"  # cpu, cuda or cuda:N (checked against this machine by resolve_device)
    # FFmpeg decoding threads, and torch intra-op threads where an entry point applies it (apply_runtime);
    # 0 leaves the libraries' defaults (one per CPU)
    threads: int = 0

    def validate(self) -> None:
        require(self.threads >= 0, "runtime.threads must be >= 0")


def resolve_device(name: str) -> str:
    """``name`` as emoboost stores it (``cpu``, ``cuda``, ``cuda:N``) once it is known to be usable here.

    Raises :class:`ConfigError` naming the device and what is wrong: not a device name, a device
    type emoboost does not run on, or no such device visible to torch on this machine.
    """
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device {name!r}: not a device name (cpu, cuda or cuda:N)") from exc
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"device {name}: no CUDA device is visible to torch")
        if device.index is not None and device.index >= count:
            raise ConfigError(f"device {name}: torch sees {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    elif device.type != "cpu":
        raise ConfigError(f"device {name}: emoboost runs on cpu or cuda, not {device.type}")
    return str(device) if device.type == "cuda" else "cpu"  # one CPU device, whatever its index


def apply_runtime(runtime: RuntimeConfig) -> None:
    """Process-wide settings a runtime config asks for (torch's intra-op threads when ``threads`` > 0).

    Only entry points call this (the command line, scripts, Ray actors): library code never changes
    process-wide state."""
    if runtime.threads:
        import torch

        torch.set_num_threads(runtime.threads)


class Overridable:
    """A frozen config that takes command-line overrides: :meth:`override` (checked like a file's values)."""

    def override(self: T, **changes: Any) -> T:
        """A copy with ``changes`` (``None`` values skipped; ``section__key`` reaches into a nested section),
        built again through :func:`from_dict` so a wrong type or unknown key is a ConfigError naming it."""
        data = to_dict(self)
        for key, value in changes.items():
            if value is None:
                continue
            *sections, name = key.split("__")
            target = data
            for section in sections:
                target = target[section]
            target[name] = to_dict(value) if not isinstance(value, Path) else str(value)
        result = from_dict(type(self), data, type(self).__name__)
        if hasattr(result, "validate"):
            result.validate()
        return result


@dataclasses.dataclass(frozen=True)
class ExtractConfig(Overridable):
    """Everything feature extraction depends on."""

    media: MediaConfig = MediaConfig()
    faces: FaceConfig = FaceConfig()
    encoders: EncoderConfig = EncoderConfig()
    lowlevel: LowLevelConfig = LowLevelConfig()
    runtime: RuntimeConfig = RuntimeConfig()

    def validate(self) -> None:
        for field in dataclasses.fields(self):
            getattr(self, field.name).validate()


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def from_dict(cls: type[T], data: Any, where: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, checking keys and value types recursively."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where or cls.__name__}: unknown key(s) {', '.join(unknown)}; expected {', '.join(fields)}")
    values = {name: _coerce(hints[name], value, f"{where}.{name}" if where else name) for name, value in data.items()}
    obj = cls(**values)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        validate()
    return obj


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{where}: {value!r} is not one of {typing.get_args(hint)}")
        return value
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], item, f"{where}[{i}]") for i, item in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_coerce(arg, item, f"{where}[{i}]") for i, (arg, item) in enumerate(zip(args, value, strict=True)))
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def to_dict(obj: Any) -> Any:
    """Plain-data view of a config dataclass (tuples become lists), for JSON and YAML."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [to_dict(v) for v in obj]
    return obj


def packaged_configs() -> Traversable:
    """The shipped configs: the checkout's ``configs/``, installed as the package data ``emoboost.configs``."""
    return importlib.resources.files("emoboost.configs")


def resolve_config(path: str | Path) -> Path | Traversable:
    """The file a config reference names: ``path`` itself when it exists (relative to the working
    directory or absolute), else for ``configs/<rest>`` the shipped ``configs/<rest>``.

    Raises :class:`ConfigError` when neither exists."""
    path = Path(path).expanduser()
    if path.exists():
        return path
    if not path.is_absolute() and path.parts[:1] == (CONFIGS,) and len(path.parts) > 1:
        packaged = packaged_configs().joinpath(*path.parts[1:])
        if packaged.is_file():
            return packaged
        raise ConfigError(f"{path}: config file not found (neither here nor among the packaged configs)")
    raise ConfigError(f"{path}: config file not found")


BASE_KEY = "base"  # a config may start from another: ``base: configs/emoforensics/synthav.yaml``


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_yaml(path: str | Path, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a YAML mapping (see :func:`resolve_config`), with a ConfigError naming the file on failure.

    A top-level ``base: <config>`` reads that config first and lays this file's settings over it
    (mappings merged key by key), so an ablation states only what it ablates and inherits the rest
    from the model it ablates."""
    data = _read_yaml(path)
    base = data.pop(BASE_KEY, None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: {BASE_KEY} must name a config file")
    if str(base) in _seen or str(path) == str(base):
        raise ConfigError(f"{path}: {BASE_KEY} files form a cycle ({' -> '.join((*_seen, str(path), base))})")
    return _merged(load_yaml(base, (*_seen, str(path))), data)


def _read_yaml(path: str | Path) -> dict[str, Any]:
    source = resolve_config(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config file is not UTF-8 text (byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def load_extract_config(path: str | Path | None = None) -> ExtractConfig:
    """The extraction config from a YAML file whose top level has ``media``, ``faces``, ``encoders``, ``runtime``."""
    if path is None:
        return ExtractConfig()
    data = load_yaml(path)
    subset = {k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(ExtractConfig)}}
    try:
        return from_dict(ExtractConfig, subset)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def load_section(cls: type[T], path: str | Path | None, section: str) -> T:
    """One top-level ``section`` of a YAML file as dataclass ``cls`` (defaults for a missing section or path)."""
    if path is None:
        return cls()
    data = load_yaml(path).get(section) or {}
    try:
        return from_dict(cls, data, section)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
