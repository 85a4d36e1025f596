import factory
import numpy as np
import pytest

from emoboost.config import FaceConfig
from emoboost.media.decode import MediaReader
from emoboost.media.faces import Detections, FaceDetector, FaceTracker, box_iou, crop_faces


@pytest.fixture(scope="module")
def detector():
    return FaceDetector(FaceConfig())


class ScriptedDetector:
    """Stands in for MTCNN: returns the detections scripted for each frame (by the frame's first pixel)."""

    def __init__(self, script: dict[int, list[tuple[float, float, float, float]]], config: FaceConfig):
        self.script, self.config, self.calls, self.whole = script, config, [], []

    def detect(self, frames, min_face=0.0):
        out = []
        for frame in frames:
            index = int(frame[0, 0, 0])
            self.calls.append(index)
            self.whole.append(index)
            boxes = np.array(self.script.get(index, []), np.float32).reshape(-1, 4)
            marks = np.repeat(((boxes[:, None, :2] + boxes[:, None, 2:]) / 2), 5, axis=1)
            out.append(Detections(boxes, np.full(len(boxes), 0.99, np.float32), marks))
        return out

    def refine(self, frame, boxes):
        """Like O-Net on one box: the scripted face overlapping it (probability 0.99), else probability 0."""
        index = int(frame[0, 0, 0])
        self.calls.append(index)
        scripted = np.array(self.script.get(index, []), np.float32).reshape(-1, 4)
        overlap = box_iou(boxes[0], scripted) if len(scripted) else np.zeros(0)
        if len(overlap) and overlap.max() >= 0.3:
            box = scripted[overlap.argmax()][None]
            return Detections(
                box, np.array([0.99], np.float32), np.repeat((box[:, None, :2] + box[:, None, 2:]) / 2, 5, axis=1)
            )
        return Detections(boxes.astype(np.float32), np.zeros(1, np.float32), np.zeros((1, 5, 2), np.float32))


def _numbered_frames(count: int):
    frames = np.zeros((count, 4, 4, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(count)
    return iter(frames)  # a stream, as the decoder gives it


def _track(script, count=21, **config):
    config = FaceConfig(**{"stride": 5, **config})
    tracker = FaceTracker(ScriptedDetector(script, config), config)
    tracked = list(tracker.track(_numbered_frames(count)))
    assert [t.start for t in tracked] == sorted(t.start for t in tracked)
    frames = np.concatenate([t.frames for t in tracked])
    assert frames[:, 0, 0, 0].tolist() == list(range(count))  # every frame released once, in order
    # released at each keyframe: the tracker never holds more than one interval of frames
    assert max(len(t.frames) for t in tracked) <= config.stride
    return tracker, np.concatenate([t.boxes for t in tracked]), np.concatenate([t.mask for t in tracked])


def test_detects_only_on_keyframes_and_interpolates_between():
    script = {k: [(k, 0, k + 20, 20)] for k in (0, 5, 10, 15, 20)}  # 5 px per keyframe
    tracker, boxes, mask = _track(script)
    assert tracker.detector.calls == [0, 5, 10, 15, 20]
    assert mask.all()
    np.testing.assert_allclose(boxes[:, 0], np.arange(21) * 1.0, atol=1e-5)  # x moves 1 px a frame
    np.testing.assert_allclose(boxes[:, 2] - boxes[:, 0], 20.0, atol=1e-5)


def test_whole_frame_search_only_when_due_or_lost():
    # a face moving 2 px per keyframe, missing at 25, and at 35 replaced by another face far away
    script = {k: [(2 * k / 5, 0, 2 * k / 5 + 20, 20)] for k in range(0, 60, 5) if k != 25}
    script[35] = [(200, 200, 220, 220)]
    tracker, boxes, mask = _track(script, count=60, rescan_s=1.0, max_gap_s=0.2)
    calls = tracker.detector
    # whole frame: 0 (no track yet), the rescans every 1 s (25, 50) and 35, where O-Net found no
    # face on the track's box; every other keyframe: O-Net on that box only
    assert calls.whole == [0, 25, 35, 50]
    assert sorted(set(calls.calls)) == list(range(0, 60, 5))
    assert boxes[20, 0] == 8 and boxes[45, 0] == 18  # the main face is followed through both misses
    assert np.nanmax(boxes[:, 0]) < 200


def test_frames_far_from_any_seen_face_are_masked():
    script = {0: [(0, 0, 10, 10)], 15: [(0, 0, 10, 10)], 20: [(0, 0, 10, 10)]}
    _, boxes, mask = _track(script)
    # keyframes 5 and 10 saw nothing: frames 0-2 hold keyframe 0, 3-12 have no face, 13-14 take keyframe 15
    assert mask.tolist() == [True] * 3 + [False] * 10 + [True] * 8
    assert np.isnan(boxes[~mask]).all()


def test_main_face_is_followed_not_the_biggest():
    small, big = (0, 0, 10, 10), (50, 50, 90, 90)
    script = {0: [small], 5: [small, big], 10: [big, (1, 0, 11, 10)], 15: [(2, 0, 12, 10)], 20: [(3, 0, 13, 10)]}
    _, boxes, mask = _track(script)
    assert mask.all()
    assert boxes[:, 2].max() < 20  # never jumps to the larger face


def test_lost_track_is_replaced_after_max_gap():
    first, second = (0, 0, 10, 10), (50, 50, 60, 60)
    script = {0: [first], 5: [second], 10: [second], 15: [second], 20: [second]}
    # stride 5 at 25 fps = 0.2 s per keyframe; max_gap 0.2 s allows one miss
    _, boxes, mask = _track(script, max_gap_s=0.2)
    assert boxes[0, 0] == 0
    assert boxes[20, 0] == 50
    assert not mask[5:8].any()  # keyframe 5: the tracked face is missing, the other face is not taken yet


def test_iou():
    assert box_iou(np.array([0, 0, 10, 10.0]), np.array([[0, 0, 10, 10.0], [5, 0, 15, 10], [20, 20, 30, 30]])).round(
        3
    ).tolist() == [1.0, 0.333, 0.0]


def test_real_face_is_tracked_in_a_clip(detector, tmp_path):
    frames, truth = factory.face_frames(3.0, size=(320, 240))
    tracker = FaceTracker(detector)
    tracked = list(tracker.track(iter(frames)))
    boxes = np.concatenate([t.boxes for t in tracked])
    mask = np.concatenate([t.mask for t in tracked])
    assert mask.mean() > 0.95
    # the box follows the moving photo: the face sits inside the pasted photo on every frame
    centres_x = (boxes[mask, 0] + boxes[mask, 2]) / 2
    truth_x = (truth[mask, 0] + truth[mask, 2]) / 2
    assert np.corrcoef(centres_x, truth_x)[0, 1] > 0.9


def test_face_mask_false_before_the_face_appears(detector, tmp_path):
    path = factory.talking_clip(tmp_path / "late.mp4", seconds=3.0, face_from_s=1.5)
    reader = MediaReader(path)
    mask = np.concatenate([t.mask for t in FaceTracker(detector).track(reader.iter_frames())])
    assert len(mask) == reader.info.n_frames
    assert not mask[:35].any()
    assert mask[40:].mean() > 0.95


def test_no_face_clip_has_empty_mask(detector, faceless_clip):
    reader = MediaReader(faceless_clip)
    tracked = list(FaceTracker(detector).track(reader.iter_frames()))
    assert not np.concatenate([t.mask for t in tracked]).any()


def test_crops_are_aligned_and_sized(detector):
    photo = factory.astronaut()
    found = detector.detect(photo[None])[0]
    assert len(found.boxes) >= 1
    box, marks = found.boxes[:1], found.landmarks[:1]
    tilted = np.array(__import__("PIL.Image").Image.fromarray(photo).rotate(20, center=(256, 256)))
    tilted_found = detector.detect(tilted[None])[0]
    crops = crop_faces(
        np.stack([photo, tilted]),
        np.concatenate([box, tilted_found.boxes[:1]]),
        np.concatenate([marks, tilted_found.landmarks[:1]]),
        [64, 112],
        0.25,
    )
    # frames given as a list of references (how the pipeline passes them) crop the same
    listed = crop_faces(
        [photo, tilted],
        np.concatenate([box, tilted_found.boxes[:1]]),
        np.concatenate([marks, tilted_found.landmarks[:1]]),
        [64, 112],
        0.25,
    )
    assert all(np.array_equal(crops[size], listed[size]) for size in (64, 112))
    assert crops[64].shape == (2, 64, 64, 3) and crops[112].shape == (2, 112, 112, 3)
    assert crops[64].dtype == np.uint8
    # after alignment the upright and the rotated face give nearly the same crop
    difference = np.abs(crops[112][0].astype(int) - crops[112][1].astype(int)).mean()
    assert difference < 25, difference
    # eyes level: re-detect on the aligned crop of the tilted face
    again = detector.detect(np.array(__import__("PIL.Image").Image.fromarray(crops[112][1]).resize((224, 224)))[None])[
        0
    ]
    left, right = again.landmarks[0][:2]
    assert abs(right[1] - left[1]) < 0.1 * abs(right[0] - left[0])


def test_rescan_size_floor(detector):
    frames, truth = factory.face_frames(0.2, size=(320, 240))
    side = float(truth[0, 2] - truth[0, 0])
    assert len(detector.detect(frames[:1], min_face=0.5 * side)[0].boxes) >= 1  # the face is above the floor
    assert len(detector.detect(frames[:1], min_face=3 * side)[0].boxes) == 0  # a floor above the face hides it


def test_boxes_do_not_depend_on_the_number_of_threads(detector, talking_clip):
    """A verdict must not change with the machine's core count: the same boxes with 1 and 2 torch threads."""
    import torch

    threads = torch.get_num_threads()
    tracks = {}
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            tracked = list(FaceTracker(detector).track(MediaReader(talking_clip).iter_frames()))
            tracks[count] = (np.concatenate([t.boxes for t in tracked]), np.concatenate([t.landmarks for t in tracked]))
    finally:
        torch.set_num_threads(threads)
    assert np.isfinite(tracks[1][0]).any()
    np.testing.assert_array_equal(tracks[1][0], tracks[2][0])
    np.testing.assert_array_equal(tracks[1][1], tracks[2][1])
