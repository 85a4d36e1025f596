"""Networks and their inference: EmoForensics (emotion consistency; inference in :mod:`emoboost.models.inference`),
the low-level RGB and acoustic detectors, the EMO-BOOST fusion and the scores of external detectors."""
