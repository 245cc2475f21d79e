"""Errors of the inference API; each names the file, folder or camera at
fault."""


class ModelNotFoundError(FileNotFoundError):
    """A model file or folder (or a file its MMDeploy meta files name) does
    not exist."""


class ModelConfigError(ValueError):
    """The model's config cannot be found or does not describe a stream
    (e.g. its test pipeline has no frame sampling or decoding step)."""


class VideoOpenError(OSError):
    """A video cannot be opened or decoded."""


class VideoNotFoundError(VideoOpenError, FileNotFoundError):
    """The video file does not exist."""


class CameraOpenError(VideoOpenError):
    """A camera cannot be opened or gives no frame."""
