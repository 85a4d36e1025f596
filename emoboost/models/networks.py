"""The one table of networks a detector holds: what each is called, where its weights live, what it learns.

Every place that enumerates the networks (training, the detector folder, fusion inputs, the
benchmark rows, reports, the verdict's scores and the CLI's columns) reads :data:`NETWORKS`;
adding a network is a row here plus its recipe in :mod:`emoboost.training`.

- ``name``: the one word for the network everywhere (score keys, fusion inputs, benchmark rows,
  CSV columns ``score_<name>``, the ``config.json`` section, the weights file ``<name>.safetensors``);
- ``target``: the label it learns (a manifest column): EmoForensics the clip label, RGB
  ``video_fake``, acoustic ``audio_fake`` (an RVFA clip has a real video, an FVRA clip real audio);
- ``config_class``: its frozen settings dataclass; ``build`` makes the untrained network from
  those settings and the input sizes stored beside them (``sizes``) in ``config.json``;
- ``display``: its name in tables and reports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from torch import nn

from emoboost.models.emoforensics import EmoForensics, EmoForensicsConfig
from emoboost.models.lowlevel import AcousticConfig, AcousticDetector, RGBConfig, RGBDetector

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

CLIP_LABEL, VIDEO_FAKE, AUDIO_FAKE = "label", "video_fake", "audio_fake"  # manifest columns a network can learn


@dataclasses.dataclass(frozen=True)
class Network:
    name: str
    target: str
    config_class: type[DataclassInstance]
    display: str
    sizes: tuple[str, ...]  # input sizes stored beside the settings in config.json
    build: Callable[[Any, Mapping[str, int]], nn.Module]  # (settings, sizes) -> untrained network

    @property
    def weights_file(self) -> str:
        return f"{self.name}.safetensors"

    def sizes_of(self, module: nn.Module) -> dict[str, int]:
        """The input sizes of a built network, as ``config.json`` stores them."""
        return {size: int(getattr(module, size)) for size in self.sizes}


NETWORKS = (
    Network(
        "emo",
        CLIP_LABEL,
        EmoForensicsConfig,
        "EmoForensics",
        ("visual_dim", "speech_dim"),
        lambda settings, sizes: EmoForensics(settings, int(sizes["visual_dim"]), int(sizes["speech_dim"])),
    ),
    Network("rgb", VIDEO_FAKE, RGBConfig, "RGB (face crops)", (), lambda settings, sizes: RGBDetector(settings)),
    Network(
        "acoustic",
        AUDIO_FAKE,
        AcousticConfig,
        "Acoustic (log-mel)",
        ("n_mels",),
        lambda settings, sizes: AcousticDetector(settings, int(sizes["n_mels"])),
    ),
)
NETWORK_NAMES = tuple(network.name for network in NETWORKS)
BY_NAME = {network.name: network for network in NETWORKS}
LOWLEVEL = ("rgb", "acoustic")  # the low-level detectors, fused into the base row
DISPLAY_NAMES = {network.name: network.display for network in NETWORKS}
# the real-only face-voice consistency detector (emoboost.models.consistency): a detector's optional fourth
# score, not a row of NETWORKS (it learns no label: it trains on real clips only, by its own recipe)
CONSISTENCY = "consistency"
DETECTOR_SCORES = (*NETWORK_NAMES, CONSISTENCY)  # every score a verdict can carry besides the fused one
