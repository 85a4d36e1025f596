"""emoboost: audio-visual deepfake detection with emotion consistency (EmoForensics + EMO-BOOST)."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # the API is imported lazily so that `import emoboost` stays light
    if name == "Detector":
        from emoboost.detector.detector import Detector

        return Detector
    if name in {"Verdict", "Segment", "Tracks"}:
        from emoboost.detector import verdict

        return getattr(verdict, name)
    raise AttributeError(f"module 'emoboost' has no attribute {name!r}")
