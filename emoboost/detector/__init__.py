"""Stage 5: the detector (inference pipeline): Detector, Verdict, detector folders, outputs, timeline, case report."""
