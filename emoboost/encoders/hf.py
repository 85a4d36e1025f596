"""Loading ``hf:<repo id or local dir>`` models through transformers, offline-aware.

The one place that calls ``from_pretrained`` for encoders. Offline when the config says
``local_files_only`` or the environment sets ``HF_HUB_OFFLINE=1``; a model that cannot be
found raises :class:`~emoboost.errors.WeightsUnavailableError` naming it and saying how to
make it available. Transformers' own log level is a process-wide setting left to the entry point
(the ``emoboost`` command sets ``TRANSFORMERS_VERBOSITY=error``).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from emoboost.errors import WeightsUnavailableError

PREFIX = "hf:"


def is_hf_name(name: str) -> bool:
    return name.startswith(PREFIX)


def strip_prefix(name: str) -> str:
    return name[len(PREFIX) :] if is_hf_name(name) else name


def offline(local_files_only: bool) -> bool:
    """True when no network access may be attempted."""
    return local_files_only or os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}


def load_pretrained(loader: Any, name: str, local_files_only: bool, what: str) -> Any:
    """``loader.from_pretrained(name)`` with a clear error when the model is not available."""
    no_network = offline(local_files_only)
    try:
        return loader.from_pretrained(name, local_files_only=no_network)
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = "in the local Hugging Face cache or as a directory" if no_network else "locally or on the hub"
        raise WeightsUnavailableError(
            f"{what} model {name!r} not found {where} ({reason}). On a connected machine run "
            f"`hf download {name}` and copy the cache (HF_HOME) here, or save the model to a "
            f"directory and pass hf:<directory>."
        ) from exc


@dataclasses.dataclass(frozen=True)
class LoadedModel:
    """A preprocessor and an eval-mode model on ``device``, with the id and version used in cache keys."""

    preprocessor: Any
    model: Any
    id: str
    version: str


def load_model(
    preprocessor_cls: Any, model_cls: Any, name: str, device: Any, local_files_only: bool, what: str
) -> LoadedModel:
    """Load ``hf:<name>``'s preprocessor and model (offline-aware) for inference."""
    repo = strip_prefix(name)
    preprocessor = load_pretrained(preprocessor_cls, repo, local_files_only, what)
    model = load_pretrained(model_cls, repo, local_files_only, what)
    model.eval().to(device)
    config = model.config
    return LoadedModel(
        preprocessor, model, f"{PREFIX}{repo}", str(getattr(config, "_commit_hash", None) or config.model_type)
    )
