"""faceapi-expression: the PyTorch port against a NumPy forward pass over the TFJS weights themselves."""

import json

import factory
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from emoboost.encoders.assets import is_cached
from emoboost.encoders.faceapi import (
    FACEAPI_ASSET,
    MEAN_RGB,
    FaceApiExpressionEncoder,
    faceapi_files,
    read_tfjs_weights,
)
from emoboost.errors import WeightsUnavailableError
from emoboost.media.faces import FaceDetector, crop_faces

cached = pytest.mark.skipif(
    not is_cached(FACEAPI_ASSET),
    reason="face-api.js expression weights not in the user cache: run `emoboost fetch-weights`",
)


def _tfjs_tensors(manifest_path):
    """The manifest's tensors, dequantised here independently of the package's reader."""
    manifest = json.loads(manifest_path.read_text())[0]
    data = (manifest_path.parent / manifest["paths"][0]).read_bytes()
    tensors, offset = {}, 0
    for spec in manifest["weights"]:
        count = int(np.prod(spec["shape"]))
        if "quantization" in spec:
            q = spec["quantization"]
            values = np.frombuffer(data[offset : offset + count], np.uint8) * q["scale"] + q["min"]
            offset += count
        else:
            values = np.frombuffer(data[offset : offset + 4 * count], np.float32)
            offset += 4 * count
        tensors[spec["name"]] = np.asarray(values, np.float64).reshape(spec["shape"])
    return tensors


def _windows(x, stride):
    """3x3 windows of ``x`` [H, W, C] with TensorFlow "same" padding: ``[Ho, Wo, C, 3, 3]``."""
    pads = [max((-(-n // stride) - 1) * stride + 3 - n, 0) for n in x.shape[:2]]
    x = np.pad(x, ((pads[0] // 2, pads[0] - pads[0] // 2), (pads[1] // 2, pads[1] - pads[1] // 2), (0, 0)))
    return sliding_window_view(x, (3, 3), axis=(0, 1))[::stride, ::stride]


def _reference_logits(tensors, image):
    """face-api.js FaceExpressionNet.forwardInput in NumPy (float64), one HWC image."""
    x = (image.astype(np.float64) - np.array(MEAN_RGB)) / 255.0

    def separable(x, name, stride):
        depthwise = np.einsum("hwcij,ijc->hwc", _windows(x, stride), tensors[f"{name}/depthwise_filter"][..., 0])
        return depthwise @ tensors[f"{name}/pointwise_filter"][0, 0] + tensors[f"{name}/bias"]

    for block in range(4):
        name = f"dense{block}"
        if block == 0:
            out1 = np.maximum(
                0,
                np.einsum("hwcij,ijco->hwo", _windows(x, 2), tensors[f"{name}/conv0/filters"])
                + tensors[f"{name}/conv0/bias"],
            )
        else:
            out1 = np.maximum(0, separable(x, f"{name}/conv0", 2))
        out2 = separable(out1, f"{name}/conv1", 1)
        out3 = separable(np.maximum(0, out1 + out2), f"{name}/conv2", 1)
        out4 = separable(np.maximum(0, out1 + out2 + out3), f"{name}/conv3", 1)
        x = np.maximum(0, out1 + out2 + out3 + out4)
    pooled = x.mean(axis=(0, 1))  # 7x7 valid average pool of a 7x7 map
    return pooled @ tensors["fc/weights"] + tensors["fc/bias"]


@pytest.fixture(scope="module")
def crops():
    detector = FaceDetector()
    faces = []
    for photo in (factory.astronaut(), factory.grace_hopper()):
        found = detector.detect(photo[None])[0]
        faces.append(crop_faces(photo[None], found.boxes[:1], found.landmarks[:1], [112], 0.25)[112][0])
    noise = np.random.default_rng(0).integers(0, 256, (2, 112, 112, 3), dtype=np.uint8)
    return np.concatenate([np.stack(faces), noise])


@cached
def test_port_matches_a_numpy_forward_pass_over_the_tfjs_weights(crops):
    encoder = FaceApiExpressionEncoder()
    tensors = _tfjs_tensors(faceapi_files()[0])
    expected = np.stack([_reference_logits(tensors, crop) for crop in crops])
    embedding, probabilities = encoder.encode(crops)
    assert embedding.shape == (4, 263) and probabilities.shape == (4, 7)
    np.testing.assert_allclose(embedding[:, 256:], expected, atol=1e-4)  # measured: 5e-6
    labels = encoder.labels
    assert labels[probabilities[0].argmax()] == "happy" and probabilities[0].max() > 0.99  # the smiling astronaut
    assert labels[probabilities[1].argmax()] == "neutral"  # Grace Hopper's serious face


def test_tfjs_reader_dequantises_and_keeps_the_order(tmp_path):
    rng = np.random.default_rng(0)
    floats = rng.normal(size=(2, 3)).astype(np.float32)
    codes = rng.integers(0, 256, 4, dtype=np.uint8)
    manifest = [{"paths": ["w.bin"], "weights": [
        {
            "name": "a/codes",
            "shape": [4],
            "dtype": "float32",
            "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0},
        },
        {"name": "b/floats", "shape": [2, 3], "dtype": "float32"},
    ]}]  # fmt: skip
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    (tmp_path / "w.bin").write_bytes(codes.tobytes() + floats.tobytes())
    tensors = read_tfjs_weights(tmp_path / "m.json")
    np.testing.assert_allclose(tensors["a/codes"], codes * 0.5 - 1.0)
    np.testing.assert_array_equal(tensors["b/floats"], floats)
    (tmp_path / "w.bin").write_bytes(codes.tobytes() + floats.tobytes() + b"extra")
    with pytest.raises(WeightsUnavailableError, match="weights file has"):
        read_tfjs_weights(tmp_path / "m.json")
