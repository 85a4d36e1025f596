"""Datasets and protocols: FakeAVCeleb manifests, leave-one-category-out folds, SynthAV."""
