"""Exceptions the engine raises. Their messages are meant to be shown to a person."""


class EngineError(Exception):
    """Base class of every error the classifier engine raises on purpose."""


class ImageError(EngineError):
    """The input could not be read as an image (missing, empty, corrupt, unsupported)."""


class ArtifactError(EngineError):
    """A model artifact is missing, corrupt, or does not match its card."""
