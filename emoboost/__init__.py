"""emoboost: audio-visual deepfake detection with emotion consistency (EmoForensics + EMO-BOOST)."""

__version__ = "0.1.0"
