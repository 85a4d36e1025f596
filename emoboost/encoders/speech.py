"""Stage 3b: 16 kHz audio -> speech emotion embeddings ``E_a [T, Da]`` on the 25 fps grid.

``egemaps`` (embedded, no weights): openSMILE eGeMAPSv02 low-level descriptors, 25 every
10 ms (loudness, F0, jitter, shimmer, HNR, formants, spectral slope, MFCC 1-4, ...), averaged
onto the 25 fps grid; the voiced-only descriptors (F0, jitter, shimmer, HNR, formants: openSMILE
writes 0 for them in unvoiced frames) are averaged over voiced frames only, never with those
zeros. With clip normalisation (the default; ``encoders.speech_clip_normalisation``) the
embedding is (Da = 76):

- the descriptors standardised over the clip (speaker normalisation: the shape of the prosody
  over time, whatever the voice), voiced-only ones with statistics over voiced frames;
- their deltas (regression over +-2 grid frames);
- the raw descriptors through a signed log, ``sign(x) * log1p(|x|)``, so the absolute level
  (a clip angry from start to end) is not normalised away. Scale is left to the model's
  input normaliser, which is fitted on training data;
- the voiced fraction of each grid frame.

Without clip normalisation (Da = 51): the signed-log descriptors, their deltas, the voiced
fraction; nothing depends on the rest of the clip.

``hf:<name>``: a wav2vec2 / HuBERT / WavLM model through transformers, in windows of
``HF_WINDOW_S`` seconds so memory stays bounded on long files, average-pooled from the model's
frame rate onto the grid. A model with an audio-classification head (``*ForSequenceClassification``:
emotion classes, or valence / arousal / dominance regressors when ``problem_type`` is regression)
is loaded with it: embedding = the hidden states the head reads + the head's outputs per frame
(its projector and classifier are linear, so their mean over an utterance is the utterance's
logits). Without a head: the last hidden state.
"""

from __future__ import annotations

import abc
import functools

import numpy as np
import torch
import torch.nn.functional as F

from emoboost import errors
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
    numerator = sum(
        k * (padded[width + k : width + k + len(features)] - padded[width - k : width - k + len(features)])
        for k in range(1, width + 1)
    )
    return numerator / (2 * sum(k * k for k in range(1, width + 1)))


def to_grid(times_s: np.ndarray, values: np.ndarray, n_frames: int) -> np.ndarray:
    """Average rows of ``values`` [M, D] stamped at ``times_s`` into grid frames.

    Empty frames take the nearest filled one."""
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


RAW_SUFFIX = ".raw"  # the version of an egemaps stream made without clip normalisation ends with it


def clip_normalised(version: str) -> bool:
    """Whether an ``egemaps`` stream of ``version`` carries clip z-scores (the default) or raw descriptors."""
    return not version.endswith(RAW_SUFFIX)


@functools.cache
def egemaps_of_version(version: str) -> EgemapsEncoder:
    """The encoder that made an ``egemaps`` stream of ``version`` (cached: opening openSMILE is not free)."""
    return EgemapsEncoder(clip_normalisation=clip_normalised(version))


class EgemapsEncoder(SpeechEmotionEncoder):
    """eGeMAPS descriptors on the grid; pitch-type descriptors over voiced frames only (see the module docstring)."""

    id = "egemaps"
    dim = 3 * EGEMAPS_LLD + 1  # with clip normalisation (the default); 2 * 25 + 1 without

    def __init__(self, clip_normalisation: bool = True):
        import opensmile

        self.smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.LowLevelDescriptors
        )
        self.clip_normalisation = clip_normalisation
        self.version = f"opensmile-{opensmile.__version__}.eGeMAPSv02.v2{'' if clip_normalisation else RAW_SUFFIX}"
        self.names = tuple(self.smile.feature_names)
        self.voiced_only = np.array([name.endswith("nz") for name in self.names])  # F0, jitter, shimmer, HNR, formants
        self.dim = (3 if clip_normalisation else 2) * EGEMAPS_LLD + 1

    def descriptors(self, audio: np.ndarray, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """``(descriptors [n_frames, 25], voiced fraction [n_frames])`` on the grid.

        openSMILE writes 0 for the ``*_sma3nz`` descriptors (F0, jitter, shimmer, HNR, formants) in
        unvoiced frames; those are averaged over voiced frames only, and a grid frame without a
        voiced frame takes the nearest voiced frame's value (its voiced fraction, 0, says so).
        """
        frame = self.smile.process_signal(np.asarray(audio, np.float32), SAMPLE_RATE)
        times = frame.index.get_level_values("start").total_seconds().to_numpy() + EGEMAPS_WINDOW_S / 2
        values = np.nan_to_num(frame.to_numpy(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        voiced = values[:, EGEMAPS_PROSODY["pitch"][0]] > 0
        grid = to_grid(times, values, n_frames)
        if voiced.any():
            grid[:, self.voiced_only] = to_grid(times[voiced], values[voiced][:, self.voiced_only], n_frames)
        fraction = to_grid(times, voiced[:, None].astype(np.float64), n_frames)[:, 0]
        counts = np.bincount(np.clip(np.floor(times * FPS).astype(np.int64), 0, n_frames - 1), minlength=n_frames)
        fraction = np.where(counts > 0, fraction, 0.0).astype(np.float32)  # frames with no LLD row are not voiced
        return grid, fraction

    def encode(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        return self.embed(*self.descriptors(audio, n_frames))

    def span(self, embedding: np.ndarray) -> np.ndarray:
        """The embedding of a span cut from a longer clip's embedding, as if the span had been encoded alone.

        The descriptors are recovered from the signed-log block and embedded again, so the clip
        statistics and deltas are those of the span (exact up to openSMILE's 20 ms window at the cut).
        """
        embedding = np.asarray(embedding, np.float64)
        start = 2 * EGEMAPS_LLD if self.clip_normalisation else 0
        level = embedding[:, start : start + EGEMAPS_LLD]
        return self.embed(np.sign(level) * np.expm1(np.abs(level)), embedding[:, -1])

    def embed(self, raw: np.ndarray, voiced: np.ndarray) -> np.ndarray:
        """``(descriptors [T, 25], voiced fraction [T])`` -> the embedding ``[T, dim]`` (module docstring)."""
        raw = np.asarray(raw, np.float64)
        n_frames = len(raw)
        level = np.sign(raw) * np.log1p(np.abs(raw))
        if not self.clip_normalisation:
            return np.concatenate([level, deltas(level), voiced[:, None]], axis=1).astype(np.float32)
        reference = np.ones((n_frames, raw.shape[1]), bool)  # statistics of voiced-only descriptors over voiced frames
        if (voiced > 0).any():
            reference[:, self.voiced_only] = (voiced > 0)[:, None]
        mean = np.array([raw[reference[:, j], j].mean() for j in range(raw.shape[1])])
        std = np.array([raw[reference[:, j], j].std() for j in range(raw.shape[1])])
        standardised = (raw - mean) / np.maximum(std, STD_FLOOR)
        return np.concatenate([standardised, deltas(standardised), level, voiced[:, None]], axis=1).astype(np.float32)


class HFSpeechEmotionEncoder(SpeechEmotionEncoder):
    """A transformers speech model (wav2vec2, HuBERT, WavLM, ...) on the grid, with its head when it has one."""

    def __init__(self, name: str, device: str = "cpu", local_files_only: bool = False):
        from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoModelForAudioClassification

        self.device = torch.device(device)
        config = hf.load_pretrained(AutoConfig, hf.strip_prefix(name), local_files_only, "speech-emotion")
        head = any(str(arch).endswith("ForSequenceClassification") for arch in (config.architectures or ()))
        model_cls = AutoModelForAudioClassification if head else AutoModel
        loaded = hf.load_model(AutoFeatureExtractor, model_cls, name, self.device, local_files_only, "speech-emotion")
        self.feature_extractor, self.model, self.id, self.version = (
            loaded.preprocessor,
            loaded.model,
            loaded.id,
            loaded.version,
        )
        linear = all(
            isinstance(getattr(self.model, part, None), torch.nn.Linear) for part in ("projector", "classifier")
        )
        if head and not linear:
            raise errors.ConfigError(
                f"{name}: its classification head is not projector + classifier (linear); cannot read it per frame"
            )
        self.head = head
        hidden = int(self.model.config.hidden_size)
        self.labels = (
            tuple(str(self.model.config.id2label[i]) for i in range(self.model.config.num_labels)) if head else ()
        )
        self.dim = hidden + len(self.labels)

    def _frames(self, piece: np.ndarray) -> torch.Tensor:
        """One window's ``[F, dim]`` per model frame: hidden states (+ head outputs)."""
        inputs = self.feature_extractor(piece, sampling_rate=SAMPLE_RATE, return_tensors="pt").to(self.device)
        if not self.head:
            return self.model(**inputs).last_hidden_state[0].float()
        model = self.model
        base = getattr(model, model.base_model_prefix)
        hidden_states = base(**inputs, output_hidden_states=True).hidden_states
        if getattr(model.config, "use_weighted_layer_sum", False):  # as the model's own forward does
            weights = torch.softmax(model.layer_weights, dim=-1)
            hidden = (torch.stack(hidden_states) * weights[:, None, None, None]).sum(dim=0)[0]
        else:
            hidden = hidden_states[-1][0]
        outputs = model.classifier(model.projector(hidden))  # [F, C]; their mean = the utterance's logits
        return torch.cat([hidden, outputs], dim=-1).float()

    @torch.inference_mode()
    def encode(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        window = int(HF_WINDOW_S * FPS)
        parts = []
        for start in range(0, n_frames, window):
            frames = min(window, n_frames - start)
            piece = audio[start * SAMPLES_PER_FRAME : (start + frames) * SAMPLES_PER_FRAME]
            series = self._frames(piece).T[None]  # [1, D, F]
            if series.shape[-1] >= frames:
                pooled = F.adaptive_avg_pool1d(series, frames)
            else:
                pooled = F.interpolate(series, size=frames, mode="linear", align_corners=False)
            parts.append(pooled[0].T.cpu().numpy())
        return np.concatenate(parts, axis=0).astype(np.float32)
