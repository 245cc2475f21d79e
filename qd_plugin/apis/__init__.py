"""Inference on clips and streams with the models the plugin produces."""
from .array_source import ArraySource
from .camera_source import CameraSource
from .clip_prediction import ClipPrediction
from .errors import (CameraOpenError, ModelConfigError, ModelNotFoundError,
                     VideoNotFoundError, VideoOpenError)
from .frame_reader import FrameReader
from .frame_source import FrameSource
from .model_loader import load_recognizer
from .recording_evaluation import evaluate_recordings, split_of
from .stream_pipeline import StreamPipeline
from .stream_recognizer import StreamRecognizer
from .video_source import VideoSource
from .window_prediction import WindowPrediction
from .window_stream import WindowStream

__all__ = [
    'ArraySource', 'CameraOpenError', 'CameraSource', 'ClipPrediction',
    'FrameReader', 'FrameSource', 'ModelConfigError', 'ModelNotFoundError',
    'StreamPipeline', 'StreamRecognizer', 'VideoNotFoundError',
    'VideoOpenError', 'VideoSource', 'WindowPrediction', 'WindowStream',
    'evaluate_recordings', 'load_recognizer', 'split_of'
]
