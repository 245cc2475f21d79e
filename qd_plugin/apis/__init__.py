"""Inference on clips and streams with the models the plugin produces."""
from .array_source import ArraySource
from .camera_source import CameraSource
from .clip_prediction import ClipPrediction
from .errors import (CameraOpenError, ModelConfigError, ModelNotFoundError,
                     VideoNotFoundError, VideoOpenError)
from .frame_normalizer import FrameNormalizer
from .frame_reader import FrameReader
from .frame_source import FrameSource
from .model_loader import load_recognizer
from .recording_evaluation import evaluate_recordings, split_of
from .stream_pipeline import StreamPipeline
from .stream_recognizer import StreamRecognizer
from .timeline_writer import check_timeline_path, write_timeline
from .video_annotator import VideoAnnotator
from .video_source import VideoSource
from .window_prediction import WindowPrediction
from .window_stream import WindowStream

__all__ = [
    'ArraySource', 'CameraOpenError', 'CameraSource', 'ClipPrediction',
    'FrameNormalizer', 'FrameReader', 'FrameSource', 'ModelConfigError',
    'ModelNotFoundError', 'StreamPipeline', 'StreamRecognizer',
    'VideoAnnotator', 'VideoNotFoundError', 'VideoOpenError', 'VideoSource',
    'WindowPrediction', 'WindowStream', 'check_timeline_path',
    'evaluate_recordings', 'load_recognizer', 'split_of', 'write_timeline'
]
