"""emoboost: audio-visual deepfake detection with emotion consistency (EmoForensics + EMO-BOOST)."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # the API is imported lazily so that `import emoboost` stays light
    if name in {"Detector", "Verdict", "Segment", "Tracks"}:
        from emoboost import api

        return getattr(api, name)
    raise AttributeError(f"module 'emoboost' has no attribute {name!r}")
