"""Lesion measurements from a mask and the image's pixels (pure numpy/OpenCV, no Django).

``measure(rgb, mask, field_of_view_mm=None)`` -> :class:`LesionMeasurements`; ``change``
compares two visits. Formulas and thresholds: docs/segmentation.md.
"""

from classifier.measurements.lesion import LesionMeasurements, measure

__all__ = ["LesionMeasurements", "measure"]
