"""Training and scoring the lesion segmenter (classifier.segmentation) on images + masks/.

Runs without Django (``python -m training.segmentation.train``) so a GPU machine with only
torch, timm, numpy and OpenCV can train it; ``manage.py train_segmentation`` and
``evaluate_model --segmentation`` wrap the same functions.
"""
