"""Errors of the decoded-clip cache; each names the chunk or entry at fault."""


class ClipCacheError(Exception):
    """A clip cache cannot serve a chunk."""


class MissingClipError(ClipCacheError, FileNotFoundError):
    """The cache has no entry for a chunk."""


class StaleClipError(ClipCacheError, ValueError):
    """An entry was made from another version of its video."""


class CorruptClipError(ClipCacheError, ValueError):
    """An entry (or its index) is damaged: truncated, altered or unreadable."""


class ClipCacheMismatchError(ClipCacheError, ValueError):
    """An entry was decoded or resized differently from what the pipeline
    asks for."""
