"""The model engine: an image in, a prediction out. Knows nothing about patients.

Importable without Django (the CLI and the training loop use it directly);
only ``classifier.models`` / ``classifier.admin`` touch the ORM.
"""
