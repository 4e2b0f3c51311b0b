"""The exception a training run raises on purpose; its message is meant for a person."""


class TrainingError(Exception):
    """A run cannot start or continue (bad checkpoint, empty split); message for a person."""
