from .int8 import (Int8Classifier, convert_to_int8, export_torchscript,
                   int8_meta, load_torchscript, observed_graph,
                   quantized_engine, serialized_size)
from .int8_recognizer import Int8Recognizer
from .qat_model import build_qat_model, is_qat_config

__all__ = [
    'Int8Classifier', 'Int8Recognizer', 'build_qat_model', 'convert_to_int8',
    'export_torchscript', 'int8_meta', 'is_qat_config', 'load_torchscript',
    'observed_graph', 'quantized_engine', 'serialized_size'
]
