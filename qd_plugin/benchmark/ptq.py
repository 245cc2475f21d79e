"""The peer baseline: post-training static quantization with ONNX Runtime.

What a user without quantization-aware training would do: ONNX Runtime's
recommended flow for CNNs, ``quant_pre_process`` then ``quantize_static`` in
QDQ format, int8 activations and per-channel int8 weights, MinMax calibration
on a few real clips. The QDQ graph runs in ONNX Runtime and in OpenVINO (which
compiles QDQ to int8 kernels).
"""
import os.path as osp
import tempfile
from typing import Iterator, Optional

import numpy as np


def _check_ml_dtypes() -> None:
    try:
        import ml_dtypes  # noqa: F401
    except ImportError as error:  # onnxruntime.quantization imports it
        raise ImportError(
            'onnxruntime.quantization needs the ml_dtypes package, which '
            'onnxruntime does not declare: pip install ml_dtypes') from error


def _at_least_opset(onnx_path: str, opset: int, tmp_path: str) -> str:
    """``onnx_path``, or a copy converted to ``opset`` if it is older.

    Per-channel QuantizeLinear/DequantizeLinear (``axis``) need opset 13;
    ``quantize_static`` writes them into an opset-11 graph anyway, which
    OpenVINO then rejects (``Dequantization scale needs to be a scalar``).
    """
    import onnx
    from onnx import version_converter
    model = onnx.load(onnx_path)
    current = next((o.version for o in model.opset_import
                    if o.domain in ('', 'ai.onnx')), opset)
    if current >= opset:
        return onnx_path
    onnx.save(version_converter.convert_version(model, opset), tmp_path)
    return tmp_path


def quantize_onnx_static(onnx_path: str,
                         output_path: str,
                         calibration_inputs: np.ndarray,
                         per_channel: bool = True,
                         input_name: Optional[str] = None,
                         activations: str = 's8') -> str:
    """Quantize a float ONNX model to a QDQ int8 model with ORT.

    Args:
        onnx_path (str): The float model.
        output_path (str): Where the QDQ model goes.
        calibration_inputs (np.ndarray): Real inputs (N, ...) fed one at a
            time (the graph may have a static batch of 1).
        per_channel (bool): Per-channel weight scales. Defaults to True.
        input_name (str, optional): The graph input; defaults to the first.
        activations (str): ``'s8'`` (ONNX Runtime's default, signed int8)
            or ``'u8'`` (unsigned, what OpenVINO's int8 depthwise kernels
            take). Defaults to ``'s8'``.

    Returns:
        str: ``output_path``.
    """
    if activations not in ('s8', 'u8'):
        raise ValueError(f"activations must be 's8' or 'u8', got "
                         f'{activations!r}')
    _check_ml_dtypes()
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader,
                                          CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if input_name is None:
        input_name = onnx.load(
            onnx_path, load_external_data=False).graph.input[0].name
    samples = np.ascontiguousarray(calibration_inputs, dtype=np.float32)

    class _Reader(CalibrationDataReader):

        def __init__(self) -> None:
            self._iter: Iterator = iter(range(samples.shape[0]))

        def get_next(self):
            index = next(self._iter, None)
            if index is None:
                return None
            return {input_name: samples[index:index + 1]}

        def rewind(self) -> None:
            self._iter = iter(range(samples.shape[0]))

    with tempfile.TemporaryDirectory() as tmp:
        source = _at_least_opset(onnx_path, 13, osp.join(tmp, 'opset.onnx'))
        prepared = osp.join(tmp, 'prepared.onnx')
        quant_pre_process(source, prepared)
        quantize_static(
            prepared,
            output_path,
            _Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=(QuantType.QInt8
                             if activations == 's8' else QuantType.QUInt8),
            weight_type=QuantType.QInt8,
            # Not CalibMaxIntermediateOutputs: in onnxruntime 1.26 it drops
            # the clips collected before each flush instead of merging them.
            calibrate_method=CalibrationMethod.MinMax)
    return output_path
