"""The visual-encoder pass of feature extraction: tracked faces -> ``visual [T, Dv]`` and ``expressions [T, C]``.

A visual encoder may be several encoders side by side (``face-geometry+fer-minixception``);
each part gets its own crops (its input size and margin) and runs on every ``frame_stride``-th
grid frame with a face (1: every frame). A part run on fewer frames is held between them: every
frame with a face takes the value of the part's last computed frame, and the first frame of
each face run is always computed, so no frame with a face is left without features and no value
crosses a gap without a face. Crops wait in a buffer until a full batch is there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emoboost.encoders.visual import FaceEmotionEncoder
from emoboost.media.faces import crop_faces


class _Part:
    """One encoder of the pass with its crop buffers."""

    def __init__(self, encoder: FaceEmotionEncoder, offset: int, default_margin: float, n_frames: int):
        self.encoder = encoder
        self.offset = offset
        self.stride = max(1, int(getattr(encoder, "frame_stride", 1)))
        self.views = tuple((size, default_margin if margin is None else margin) for size, margin in encoder.views)
        self.pending_index: list[np.ndarray] = []
        self.pending_crops: list[list[np.ndarray]] = [[] for _ in self.views]
        self.computed = np.zeros(n_frames, bool)


class VisualPass:
    """Collects crops chunk by chunk, encodes them in batches, assembles the clip's arrays."""

    def __init__(
        self, encoder: FaceEmotionEncoder, n_frames: int, margin: float, batch_size: int, watch: Callable[[str], Any]
    ):
        parts = getattr(encoder, "parts", (encoder,))
        offsets = np.cumsum([0] + [part.dim for part in parts])
        self.encoder = encoder
        self.parts = [
            _Part(part, int(offset), margin, n_frames) for part, offset in zip(parts, offsets[:-1], strict=True)
        ]
        self.labelled = next((part for part in self.parts if part.encoder.labels), None)
        self.visual = np.zeros((n_frames, encoder.dim), np.float32)  # [T, Dv]
        self.expressions = np.zeros((n_frames, len(encoder.labels)), np.float32)  # [T, C]
        self.batch_size = batch_size
        self.watch = watch
        self.previous_face = False  # whether the frame before the current chunk had a face

    def add(
        self, start: int, frames: tuple[np.ndarray, ...], boxes: np.ndarray, landmarks: np.ndarray, mask: np.ndarray
    ) -> None:
        """Crop one tracked chunk's face frames for every part (its stride's frames only), then encode full batches."""
        rows = np.flatnonzero(mask)
        before = np.concatenate([[self.previous_face], mask[:-1]]) if len(mask) else np.zeros(0, bool)
        run_start = mask & ~before  # [t] first frame of a face run
        self.previous_face = bool(mask[-1]) if len(mask) else self.previous_face
        with self.watch("crops"):
            for part in self.parts:
                wanted = rows[((start + rows) % part.stride == 0) | run_start[rows]]
                if not len(wanted):
                    continue
                part.pending_index.append(start + wanted)
                part.computed[start + wanted] = True
                pictures = [frames[row] for row in wanted]  # references: only face regions are copied
                for view, (size, view_margin) in zip(part.pending_crops, part.views, strict=True):
                    view.append(crop_faces(pictures, boxes[wanted], landmarks[wanted], [size], view_margin)[size])
        for part in self.parts:
            self._encode(part, final=False)

    def _encode(self, part: _Part, final: bool) -> None:
        if not part.pending_index or (not final and sum(len(i) for i in part.pending_index) < self.batch_size):
            return
        index, crops = np.concatenate(part.pending_index), [np.concatenate(view) for view in part.pending_crops]
        part.pending_index.clear()
        for view in part.pending_crops:
            view.clear()
        columns = slice(part.offset, part.offset + part.encoder.dim)
        with self.watch("visual"):
            for begin in range(0, len(index), self.batch_size):
                batch = tuple(view[begin : begin + self.batch_size] for view in crops)
                embedding, probabilities = part.encoder.encode_views(batch)
                rows = index[begin : begin + self.batch_size]
                self.visual[rows, columns] = embedding
                if part is self.labelled:
                    self.expressions[rows] = probabilities

    def finish(self, face_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Encode what is left, hold strided parts between their frames, normalise per clip.

        Returns ``(visual [T, Dv], expressions [T, C])``."""
        for part in self.parts:
            self._encode(part, final=True)
            if part.stride > 1 and part.computed.any():
                computed = np.flatnonzero(part.computed)
                faces = np.flatnonzero(face_mask)
                source = computed[np.maximum(np.searchsorted(computed, faces, side="right") - 1, 0)]
                columns = slice(part.offset, part.offset + part.encoder.dim)
                self.visual[faces, columns] = self.visual[source, columns]
                if part is self.labelled:
                    self.expressions[faces] = self.expressions[source]
        visual = self.encoder.finish_clip(self.visual, face_mask).astype(np.float32)  # e.g. identity normalisation
        return visual, self.expressions
