"""The OpenVINO peer: post-training quantization of the float model with
NNCF (``nncf.quantize``, OpenVINO backend), what a user of OpenVINO would
try first.

Two settings: NNCF's defaults (``PERFORMANCE`` preset: symmetric
activations and weights, fast bias correction) and the best documented one
for a CNN whose activations follow ReLU (``MIXED`` preset: asymmetric
activations, symmetric weights; full ``BiasCorrection``), both calibrated on
the same clips.
"""
import importlib.util
from typing import Dict

import numpy as np

#: Settings of the NNCF rows: name -> ``nncf.quantize`` keyword arguments
#: (``preset`` by name).
NNCF_SETTINGS: Dict[str, Dict] = {
    'defaults': dict(),
    'mixed': dict(preset='MIXED', fast_bias_correction=False),
}

NNCF_MISSING = ('nncf is not installed: the NNCF PTQ rows are skipped '
                '(pip install -e ".[deploy]" installs nncf)')


def nncf_available() -> bool:
    """Whether ``nncf`` can be imported."""
    return importlib.util.find_spec('nncf') is not None


def quantize_nncf(model_path: str,
                  output_xml: str,
                  calibration_inputs: np.ndarray,
                  setting: str = 'defaults') -> str:
    """Quantize a float ONNX/OpenVINO model to an int8 OpenVINO IR.

    Args:
        model_path (str): The float ``.onnx`` or ``.xml``.
        output_xml (str): Where the int8 IR goes (``.xml`` + ``.bin``).
        calibration_inputs (np.ndarray): Real inputs (N, ...) fed one at a
            time; all N are used (``subset_size``).
        setting (str): A key of :data:`NNCF_SETTINGS`.

    Returns:
        str: ``output_xml``.

    Raises:
        ImportError: nncf is not installed (:data:`NNCF_MISSING`).
    """
    if setting not in NNCF_SETTINGS:
        raise KeyError(f'no NNCF setting {setting!r}; known: '
                       f'{list(NNCF_SETTINGS)}')
    if not nncf_available():
        raise ImportError(NNCF_MISSING)
    import nncf
    import openvino as ov
    kwargs = dict(NNCF_SETTINGS[setting])
    if 'preset' in kwargs:
        kwargs['preset'] = getattr(nncf.QuantizationPreset, kwargs['preset'])
    samples = np.ascontiguousarray(calibration_inputs, dtype=np.float32)
    dataset = nncf.Dataset([samples[i:i + 1] for i in range(len(samples))])
    model = ov.Core().read_model(model_path)
    quantized = nncf.quantize(
        model, dataset, subset_size=len(samples), **kwargs)
    ov.save_model(quantized, output_xml, compress_to_fp16=False)
    return output_xml
