"""Stage 4: the feature store and extraction into it."""

from emoboost.features.store import FeatureRecord, FeatureStore

__all__ = ["FeatureRecord", "FeatureStore"]
