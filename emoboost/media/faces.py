"""Stage 2: faces. MTCNN on every k-th grid frame, one main-face track, interpolated boxes, aligned crops.

Tracking is online so it streams with the decoder:

- keyframes are the grid frames with ``index % stride == 0``; MTCNN (facenet-pytorch, weights
  shipped in its wheel) runs on them, downscaled to ``detect_max_side``;
- the main face is the detection that continues the current track (IoU with its last box >=
  ``iou_min``); when there is no track, the largest confident face (area x probability) starts
  one; a track unseen for ``max_gap_s`` is dropped;
- frames between two keyframes of the same track get linearly interpolated boxes and landmarks;
  between a seen and an unseen keyframe, the nearer half holds the seen box; all other frames
  have no face (``mask`` False). Nothing downstream treats a masked frame as a face.

Frames are released once the next keyframe has been decided, so the tracker holds fewer than
``stride`` frames beyond the chunk being processed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from emoboost.config import FaceConfig
from emoboost.media.decode import FPS, VideoChunk


@dataclasses.dataclass(frozen=True)
class Detections:
    """Faces found in one frame, in that frame's pixel coordinates."""

    boxes: np.ndarray  # [k, 4] x1, y1, x2, y2
    probs: np.ndarray  # [k]
    landmarks: np.ndarray  # [k, 5, 2] left eye, right eye, nose, mouth left, mouth right

    @staticmethod
    def empty() -> Detections:
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))


@dataclasses.dataclass(frozen=True)
class TrackedChunk:
    """Consecutive grid frames with the main face's box (NaN where ``mask`` is False)."""

    start: int
    frames: np.ndarray  # [t, H, W, 3] uint8
    boxes: np.ndarray  # [t, 4] float32
    landmarks: np.ndarray  # [t, 5, 2] float32
    scores: np.ndarray  # [t] float32 detector probability (interpolated)
    mask: np.ndarray  # [t] bool, True where the main face is present


class FaceDetector:
    """facenet-pytorch MTCNN returning every face per frame, run at a bounded resolution."""

    def __init__(self, config: FaceConfig | None = None, device: str = "cpu"):
        from facenet_pytorch import MTCNN

        self.config = config or FaceConfig()
        self.mtcnn = MTCNN(
            keep_all=True,
            min_face_size=self.config.min_face_size,
            thresholds=list(self.config.thresholds),
            device=torch.device(device),
        )

    def detect(self, frames: np.ndarray) -> list[Detections]:
        """Detect faces in uint8 frames ``[n, H, W, 3]`` (one size)."""
        if len(frames) == 0:
            return []
        height, width = frames.shape[1:3]
        scale = min(1.0, self.config.detect_max_side / max(height, width))
        results: list[Detections] = []
        for begin in range(0, len(frames), self.config.batch_size):
            batch = frames[begin : begin + self.config.batch_size]
            if scale < 1.0:
                size = (max(1, round(height * scale)), max(1, round(width * scale)))
                tensor = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float()
                tensor = F.interpolate(tensor, size=size, mode="bilinear", antialias=True, align_corners=False)
                batch = tensor.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
            with torch.inference_mode():
                boxes, probs, points = self.mtcnn.detect(np.ascontiguousarray(batch), landmarks=True)
            for frame_boxes, frame_probs, frame_points in zip(boxes, probs, points):
                if frame_boxes is None:
                    results.append(Detections.empty())
                    continue
                results.append(
                    Detections(
                        np.asarray(frame_boxes, np.float32) / scale,
                        np.asarray(frame_probs, np.float32).reshape(-1),
                        np.asarray(frame_points, np.float32) / scale,
                    )
                )
        return results


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box ``[4]`` with each of ``boxes`` ``[k, 4]``."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


@dataclasses.dataclass
class _Keyframe:
    index: int
    track: int  # -1: main face not seen
    box: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    score: float = 0.0


class FaceTracker:
    """Online main-face tracker over streamed :class:`VideoChunk` s."""

    def __init__(self, detector: FaceDetector, config: FaceConfig | None = None):
        self.detector = detector
        self.config = config or detector.config

    def track(self, chunks: Iterable[VideoChunk]) -> Iterator[TrackedChunk]:
        """Yield the chunks' frames, in order, with the main face's box per frame."""
        stride = self.config.stride
        max_misses = max(1, int(math.floor(self.config.max_gap_s * FPS / stride)))
        buffer: list[np.ndarray] = []  # frames not yet released, starting at buffer_start
        buffer_start = 0
        previous: _Keyframe | None = None
        track_box: np.ndarray | None = None
        track_id, next_track, misses = -1, 0, 0

        for chunk in chunks:
            buffer.extend(chunk.frames)
            keyframe_indices = [i for i in range(chunk.start, chunk.stop) if i % stride == 0]
            detections = self.detector.detect(chunk.frames[[i - chunk.start for i in keyframe_indices]])
            for index, found in zip(keyframe_indices, detections):
                found = _confident(found, self.config.min_prob)
                choice = None
                if track_box is not None and len(found.boxes):
                    ious = box_iou(track_box, found.boxes)
                    if ious.max() >= self.config.iou_min:
                        choice = int(ious.argmax())
                if choice is None and track_box is not None:
                    misses += 1
                    if misses > max_misses:
                        track_box, track_id = None, -1
                if choice is None and track_box is None and len(found.boxes):
                    sizes = (found.boxes[:, 2] - found.boxes[:, 0]) * (found.boxes[:, 3] - found.boxes[:, 1])
                    choice = int(np.argmax(sizes * found.probs))
                    track_id, next_track = next_track, next_track + 1
                if choice is None:
                    current = _Keyframe(index, -1)
                else:
                    track_box, misses = found.boxes[choice], 0
                    current = _Keyframe(index, track_id, found.boxes[choice], found.landmarks[choice], float(found.probs[choice]))
                if previous is not None:
                    released = index - buffer_start
                    yield _resolve(buffer_start, buffer[:released], previous, current)
                    del buffer[:released]
                    buffer_start = index
                previous = current
        if buffer and previous is not None:
            yield _resolve(buffer_start, buffer, previous, None)


def _confident(found: Detections, min_prob: float) -> Detections:
    keep = found.probs >= min_prob
    return Detections(found.boxes[keep], found.probs[keep], found.landmarks[keep])


def _resolve(start: int, frames: Sequence[np.ndarray], left: _Keyframe, right: _Keyframe | None) -> TrackedChunk:
    """Boxes for frames ``[start, start + len(frames))``, between keyframe ``left`` (= start) and ``right``."""
    count = len(frames)
    boxes = np.full((count, 4), np.nan, np.float32)
    landmarks = np.full((count, 5, 2), np.nan, np.float32)
    scores = np.zeros(count, np.float32)
    span = (right.index - left.index) if right is not None else count
    for offset in range(count):
        weight = offset / span if span else 0.0
        if left.box is not None and right is not None and right.box is not None and right.track == left.track:
            boxes[offset] = (1 - weight) * left.box + weight * right.box
            landmarks[offset] = (1 - weight) * left.landmarks + weight * right.landmarks
            scores[offset] = (1 - weight) * left.score + weight * right.score
            continue
        # between a seen and an unseen keyframe the nearer half holds the seen box;
        # after the last keyframe (tail of the clip, < stride frames) the last box is held
        nearest = left if right is None or weight <= 0.5 else right
        if nearest.box is not None:
            boxes[offset], landmarks[offset], scores[offset] = nearest.box, nearest.landmarks, nearest.score
    mask = ~np.isnan(boxes[:, 0])
    return TrackedChunk(start, np.stack(frames) if count else np.zeros((0, 1, 1, 3), np.uint8), boxes, landmarks, scores, mask)


def crop_faces(
    frames: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray, sizes: Sequence[int], margin: float
) -> dict[int, np.ndarray]:
    """Eye-aligned square face crops, uint8 ``[t, S, S, 3]`` for each requested size S.

    The crop is centred on the box, its side is ``(1 + margin) * max(box w, box h)`` and it is
    rotated so the eyes are level. Each frame is sampled from a small region around the face
    (memory does not depend on frame size), at an intermediate resolution, then resized with
    antialiasing to every requested size (no aliasing when a large face becomes 64 px).
    """
    sizes = sorted(set(int(s) for s in sizes))
    out = {size: np.zeros((len(frames), size, size, 3), np.uint8) for size in sizes}
    if len(frames) == 0:
        return out
    height, width = frames.shape[1:3]
    for i, (frame, box, points) in enumerate(zip(frames, boxes, landmarks)):
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = max(box[2] - box[0], box[3] - box[1]) * (1 + margin)
        eye_dx, eye_dy = points[1] - points[0]
        angle = math.atan2(eye_dy, eye_dx) if np.isfinite(eye_dx) and abs(eye_dx) > 1e-6 else 0.0
        reach = side * math.sqrt(2) / 2 + 2
        x0, x1 = max(0, int(cx - reach)), min(width, int(math.ceil(cx + reach)))
        y0, y1 = max(0, int(cy - reach)), min(height, int(math.ceil(cy + reach)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = torch.from_numpy(np.ascontiguousarray(frame[y0:y1, x0:x1])).permute(2, 0, 1)[None].float()
        region_h, region_w = y1 - y0, x1 - x0
        cos, sin, half = math.cos(angle), math.sin(angle), side / 2
        theta = torch.tensor(
            [
                [half * cos * 2 / region_w, -half * sin * 2 / region_w, 2 * (cx - x0) / region_w - 1],
                [half * sin * 2 / region_h, half * cos * 2 / region_h, 2 * (cy - y0) / region_h - 1],
            ],
            dtype=torch.float32,
        )[None]
        resolution = int(min(max(side, sizes[-1]), 4 * sizes[-1]))
        grid = F.affine_grid(theta, [1, 3, resolution, resolution], align_corners=False)
        aligned = F.grid_sample(region, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        for size in sizes:
            resized = aligned
            if size != resolution:
                resized = F.interpolate(aligned, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            out[size][i] = resized[0].round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    return out
