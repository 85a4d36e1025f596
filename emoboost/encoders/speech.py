"""Stage 3b: 16 kHz audio -> speech emotion embeddings ``E_a [T, Da]`` on the 25 fps grid.

``egemaps`` (embedded, no weights): openSMILE eGeMAPSv02 low-level descriptors, 25 every
10 ms (loudness, F0, jitter, shimmer, HNR, formants, spectral slope, MFCC 1-4, ...), averaged
onto the 25 fps grid. The embedding has three parts of 25 (Da = 75):

- the descriptors standardised over the clip (speaker normalisation: the shape of the
  prosody over time, whatever the voice);
- their deltas (regression over +-2 grid frames);
- the raw descriptors through a signed log, ``sign(x) * log1p(|x|)``, so the absolute level
  (a clip angry from start to end) is not normalised away. Scale is left to the model's
  input normaliser, which is fitted on training data.

``hf:<name>``: a wav2vec2 / HuBERT / WavLM model through transformers; embedding = mean of
all hidden layers, average-pooled from the model's frame rate onto the grid, in windows of
``HF_WINDOW_S`` seconds so memory stays bounded on long files.
"""

from __future__ import annotations

import abc

import numpy as np
import torch
import torch.nn.functional as F

from emoboost.encoders import hf
from emoboost.media.decode import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME

EGEMAPS_LLD = 25
EGEMAPS_WINDOW_S = 0.020  # openSMILE's reported window for the eGeMAPS LLD frames
# columns of the clip-standardised block of the egemaps embedding that analysts read as prosody
# (z-scores within the clip); tests check them against openSMILE's feature names
EGEMAPS_PROSODY = {"loudness": (0, "Loudness_sma3"), "pitch": (10, "F0semitoneFrom27.5Hz_sma3nz")}
DELTA_WIDTH = 2
STD_FLOOR = 1e-3
HF_WINDOW_S = 20.0


class SpeechEmotionEncoder(abc.ABC):
    """Mono 16 kHz audio of ``n_frames * 640`` samples -> ``[n_frames, dim]`` float32."""

    id: str
    version: str
    dim: int

    @abc.abstractmethod
    def encode(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        """Embeddings aligned to the 25 fps grid."""


def deltas(features: np.ndarray, width: int = DELTA_WIDTH) -> np.ndarray:
    """Regression deltas along time (axis 0), edges padded by repetition. ``[T, D] -> [T, D]``."""
    if len(features) < 2:
        return np.zeros_like(features)
    padded = np.pad(features, ((width, width), (0, 0)), mode="edge")
    numerator = sum(k * (padded[width + k : width + k + len(features)] - padded[width - k : width - k + len(features)]) for k in range(1, width + 1))
    return numerator / (2 * sum(k * k for k in range(1, width + 1)))


def to_grid(times_s: np.ndarray, values: np.ndarray, n_frames: int) -> np.ndarray:
    """Average rows of ``values`` [M, D] stamped at ``times_s`` into grid frames; empty frames take the nearest filled one."""
    index = np.clip(np.floor(times_s * FPS).astype(np.int64), 0, n_frames - 1)
    sums = np.zeros((n_frames, values.shape[1]), np.float64)
    counts = np.zeros(n_frames, np.int64)
    np.add.at(sums, index, values)
    np.add.at(counts, index, 1)
    filled = np.flatnonzero(counts)
    if len(filled) == 0:
        return np.zeros((n_frames, values.shape[1]), np.float32)
    means = sums / np.maximum(counts, 1)[:, None]
    frames = np.arange(n_frames)
    after = np.minimum(np.searchsorted(filled, frames), len(filled) - 1)
    right, left = filled[after], filled[np.maximum(after - 1, 0)]
    nearest = np.where(np.abs(frames - left) <= np.abs(right - frames), left, right)
    return means[nearest].astype(np.float32)


class EgemapsEncoder(SpeechEmotionEncoder):
    id = "egemaps"
    dim = 3 * EGEMAPS_LLD

    def __init__(self):
        import opensmile

        self.smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.LowLevelDescriptors
        )
        self.version = f"opensmile-{opensmile.__version__}.eGeMAPSv02.v1"
        self.names = tuple(self.smile.feature_names)

    def descriptors(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        """The 25 raw eGeMAPS descriptors averaged onto the grid, ``[n_frames, 25]``."""
        frame = self.smile.process_signal(np.asarray(audio, np.float32), SAMPLE_RATE)
        starts = frame.index.get_level_values("start").total_seconds().to_numpy()
        values = np.nan_to_num(frame.to_numpy(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        return to_grid(starts + EGEMAPS_WINDOW_S / 2, values, n_frames)

    def encode(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        raw = self.descriptors(audio, n_frames).astype(np.float64)
        standardised = (raw - raw.mean(axis=0)) / np.maximum(raw.std(axis=0), STD_FLOOR)
        level = np.sign(raw) * np.log1p(np.abs(raw))
        return np.concatenate([standardised, deltas(standardised), level], axis=1).astype(np.float32)


class HFSpeechEmotionEncoder(SpeechEmotionEncoder):
    """A transformers speech model (wav2vec2, HuBERT, WavLM, ...); mean of hidden layers on the grid."""

    def __init__(self, name: str, device: str = "cpu", local_files_only: bool = False):
        from transformers import AutoFeatureExtractor, AutoModel

        self.device = torch.device(device)
        loaded = hf.load_model(AutoFeatureExtractor, AutoModel, name, self.device, local_files_only, "speech-emotion")
        self.feature_extractor, self.model, self.id, self.version = loaded.preprocessor, loaded.model, loaded.id, loaded.version
        self.dim = int(self.model.config.hidden_size)

    @torch.inference_mode()
    def encode(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        window = int(HF_WINDOW_S * FPS)
        parts = []
        for start in range(0, n_frames, window):
            frames = min(window, n_frames - start)
            piece = audio[start * SAMPLES_PER_FRAME : (start + frames) * SAMPLES_PER_FRAME]
            inputs = self.feature_extractor(piece, sampling_rate=SAMPLE_RATE, return_tensors="pt").to(self.device)
            hidden = self.model(**inputs, output_hidden_states=True).hidden_states
            layers = torch.stack(hidden).float().mean(dim=0)[0]  # [F, D]
            series = layers.T[None]  # [1, D, F]
            if series.shape[-1] >= frames:
                pooled = F.adaptive_avg_pool1d(series, frames)
            else:
                pooled = F.interpolate(series, size=frames, mode="linear", align_corners=False)
            parts.append(pooled[0].T.cpu().numpy())
        return np.concatenate(parts, axis=0).astype(np.float32)
