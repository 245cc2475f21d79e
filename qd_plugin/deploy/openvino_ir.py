"""ONNX -> OpenVINO IR."""
import os.path as osp
from typing import Optional


def convert_to_openvino(onnx_path: str, xml_path: Optional[str] = None,
                        compress_to_fp16: bool = False) -> str:
    """ONNX -> OpenVINO IR with ``openvino.convert_model``/``save_model``.

    Weights stay float32 unless ``compress_to_fp16`` (``save_model`` would
    compress them by default). Static/dynamic dimensions are kept as in the
    ONNX graph.

    Returns:
        str: The ``.xml`` path (its weights are in the ``.bin`` beside it).
    """
    import openvino as ov
    xml_path = xml_path or osp.splitext(onnx_path)[0] + '.xml'
    ov_model = ov.convert_model(onnx_path)
    ov.save_model(ov_model, xml_path, compress_to_fp16=compress_to_fp16)
    return xml_path
