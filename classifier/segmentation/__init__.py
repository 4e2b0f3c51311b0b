"""Lesion segmentation: a small U-Net on the Lite0 encoder, its pre/post-processing, its
artifact (weights.safetensors, model.onnx, card.json) and an ONNX Runtime runner.

Pure engine code: no Django. ``model`` and ``export`` need torch; ``processing`` and
``runtime`` do not, so a CPU worker can serve the ONNX file without importing PyTorch.
"""
