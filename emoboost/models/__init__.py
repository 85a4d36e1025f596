"""Networks: EmoForensics (emotion consistency), later the low-level detectors and the fusion."""
