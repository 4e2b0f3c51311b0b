"""The analysis pipeline: Celery tasks (``tasks``), sending them by name (``dispatch``), the model
as a worker process serves it (``inference``), worker heartbeats and the quick check."""
