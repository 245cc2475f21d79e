"""A synthetic stand-in for Drive&Act in the release's exact layout.

The real Drive&Act data is license-gated; this package writes long recordings
and chunked split files shaped like the release so that training,
distillation, quantization and evaluation run end to end without it.
``activities`` says how each class is performed, ``plan`` who records what,
``motion`` where everything is frame by frame, ``render`` draws the frames and
``write`` writes videos and split files.
"""
from .activities import (ACTIVITIES, CLASS_ORDER, PLACES, ActivityScript,
                         synthetic_classes)
from .generator import make_synthetic_driveact
from .write import MARKER_FILE, SyntheticDataExistsError

__all__ = [
    'ACTIVITIES', 'CLASS_ORDER', 'PLACES', 'ActivityScript',
    'synthetic_classes', 'make_synthetic_driveact', 'MARKER_FILE',
    'SyntheticDataExistsError'
]
