"""Media the tests generate: real face photos moving over a background, espeak-ng speech, sync marks."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from emoboost.media.write import write_video


def astronaut() -> np.ndarray:
    """``skimage.data.astronaut()``: a real, smiling face photo (512x512 RGB)."""
    from skimage import data

    return data.astronaut()


def grace_hopper() -> np.ndarray:
    """matplotlib's ``grace_hopper.jpg`` sample: a real face photo (600x512 RGB)."""
    import matplotlib.cbook as cbook

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return np.array(Image.open(handle).convert("RGB"))


def speech(text: str, sample_rate: int = 16_000, pitch: int = 50, speed: int = 160, amplitude: int = 100) -> np.ndarray:
    """espeak-ng speech as float32 mono at ``sample_rate``."""
    from emoboost.data.tts import espeak

    samples = espeak(text, pitch=pitch, speed=speed, amplitude=amplitude)
    if sample_rate != 16_000:
        from scipy.signal import resample_poly

        divisor = np.gcd(16_000, sample_rate)
        samples = resample_poly(samples, sample_rate // divisor, 16_000 // divisor).astype(np.float32)
    return samples


def fit(audio: np.ndarray, seconds: float, sample_rate: int) -> np.ndarray:
    """Pad with silence or cut to exactly ``seconds``."""
    wanted = int(round(seconds * sample_rate))
    return np.pad(audio, (0, max(0, wanted - len(audio))))[:wanted]


def face_frames(
    seconds: float,
    fps: float = 25,
    size: tuple[int, int] = (320, 240),
    face: np.ndarray | None = None,
    face_from_s: float = 0.0,
    face_side: int = 150,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames of a face photo drifting over a grey background.

    Returns ``(frames, boxes)``; box NaN before ``face_from_s``."""
    width, height = size
    face = astronaut()[20:420, 90:450] if face is None else face
    patch = np.array(Image.fromarray(face).resize((face_side, int(face_side * face.shape[0] / face.shape[1]))))
    count = int(round(seconds * fps))
    frames = np.full((count, height, width, 3), 110, np.uint8)
    boxes = np.full((count, 4), np.nan, np.float32)
    rng = np.random.default_rng(0)
    for i in range(count):
        frames[i] = np.clip(frames[i].astype(np.int16) + rng.integers(-6, 7, frames[i].shape), 0, 255)
        if i / fps < face_from_s:
            continue
        x = int((width - patch.shape[1]) / 2 + 25 * np.sin(i / fps))
        y = int((height - patch.shape[0]) / 2 + 10 * np.cos(i / fps))
        y0, x0 = max(0, y), max(0, x)
        crop = patch[y0 - y : y0 - y + height - y0, x0 - x : x0 - x + width - x0]
        frames[i, y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
        boxes[i] = (x, y, x + patch.shape[1], y + patch.shape[0])
    return frames, boxes


def talking_clip(
    path: Path,
    seconds: float = 3.0,
    fps: float = 25,
    size: tuple[int, int] = (320, 240),
    sample_rate: int = 16_000,
    channels: int = 1,
    face: bool = True,
    audio: bool = True,
    face_from_s: float = 0.0,
    text: str = "Hello there, this is a short test clip for the emotion toolkit.",
    face_side: int = 150,
    **write_args,
) -> Path:
    """A clip of a real face photo with espeak-ng speech."""
    if face:
        frames, _ = face_frames(seconds, fps, size, face_from_s=face_from_s, face_side=face_side)
    else:
        frames = np.random.default_rng(1).integers(
            60, 200, (int(round(seconds * fps)), size[1], size[0], 3), dtype=np.uint8
        )
    track = None
    if audio:
        track = fit(speech(text, sample_rate), seconds, sample_rate)
        if channels > 1:
            track = np.stack([track] * channels, axis=1)
    return write_video(path, frames, fps, track, sample_rate, **write_args)


def sync_clip(
    path: Path,
    mark_s: float,
    seconds: float = 4.0,
    fps: float = 30,
    sample_rate: int = 44_100,
    channels: int = 2,
    vfr: bool = False,
) -> Path:
    """Black frames with a white flash and a 1 kHz beep both starting at ``mark_s`` (0.2 s long).

    With ``vfr=True`` the first half is encoded at half the frame rate (timestamps, not indices, carry time).
    """
    count = int(round(seconds * fps))
    times = np.arange(count) / fps
    frames = np.zeros((count, 120, 160, 3), np.uint8)
    frames[(times >= mark_s) & (times < mark_s + 0.2)] = 255
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    beep = np.where((t >= mark_s) & (t < mark_s + 0.2), 0.5 * np.sin(2 * np.pi * 1000 * t), 0.0).astype(np.float32)
    track = np.stack([beep] * channels, axis=1) if channels > 1 else beep
    if not vfr:
        return write_video(path, frames, fps, track, sample_rate)
    # keep every other frame of the first half, then give each kept frame its original timestamp
    half = count // 2
    keep = np.r_[np.arange(0, half, 2), np.arange(half, count)]
    tmp = path.with_suffix(".cfr.mp4")
    write_video(tmp, frames[keep], fps, track, sample_rate)
    slow = half // 2 + half % 2  # frames kept from the first half
    retime(tmp, path, f"if(lt(N\\,{slow})\\,2*N\\,N+{half - slow})", fps)
    tmp.unlink()
    return path


def retime(source: Path, path: Path, expression: str, fps: float) -> Path:
    """Give frame ``N`` of ``source`` the time ``expression / fps`` (ffmpeg setpts; audio copied): a VFR file."""
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(source),
            "-vf",
            f"setpts={expression}/({fps}*TB)",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "copy",
            str(path),
        ],
        check=True,
    )
    return path


def lavfi(source: str, path: Path, *arguments: str) -> Path:
    """``path`` made by ffmpeg from a lavfi source (``color=...``, ``testsrc=...``) and ``arguments``."""
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, *arguments, str(path)], check=True
    )
    return path


def second_video_track(decoy_seconds: float, source: Path, path: Path) -> Path:
    """``source`` behind a first video track of ``decoy_seconds`` of plain red: a file whose first track is not
    the recording (a decoy, or a thumbnail track some cameras write)."""
    decoy = lavfi("color=c=red:s=64x64:r=25", path.with_name(path.stem + "_decoy.mkv"), "-t", f"{decoy_seconds}")
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(decoy), "-i", str(source)]
        + ["-map", "0:v", "-map", "1:v", "-map", "1:a", "-codec", "copy", str(path)],
        check=True,
    )
    decoy.unlink()
    return path


def variable_frame_rate(source: Path, path: Path, slow_frames: int = 20) -> Path:
    """Re-time a 25 fps ``source`` so its first ``slow_frames`` frames last twice as long."""
    return retime(source, path, f"if(lt(N\\,{slow_frames})\\,2*N\\,N+{slow_frames})", 25)


def phone_copy(source: Path, path: Path) -> Path:
    """``source`` as a phone stores it: frames turned a quarter clockwise, and a display rotation of 90 degrees
    to undo it."""
    sideways = path.with_suffix(".sideways.mp4")
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(source), "-vf", "transpose=1", "-c:a", "copy", str(sideways)],
        check=True,
    )
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(sideways),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            str(path),
        ],
        check=True,
    )
    sideways.unlink()
    return path


def runaway_timestamps(path: Path, stamps_s: tuple[float, ...] = (0.0, 36_000.0), audio_s: float = 2.0) -> Path:
    """A tiny file whose video frames are stamped at ``stamps_s`` (default: the second at 10 h), with ``audio_s``
    of sound."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, 1000)
        sound = container.add_stream("aac", rate=16_000)
        sound.layout = "mono"
        for index, stamp in enumerate(stamps_s):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 60 + 40 * index, np.uint8), format="rgb24")
            frame.pts, frame.time_base = int(round(stamp * 1000)), Fraction(1, 1000)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        samples = (0.1 * np.sin(np.arange(int(audio_s * 16_000)) * 0.05)).astype(np.float32)
        for start in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="flt", layout="mono")
            frame.sample_rate, frame.pts = 16_000, start
            for packet in sound.encode(frame):
                container.mux(packet)
        for packet in sound.encode():
            container.mux(packet)
    return path
