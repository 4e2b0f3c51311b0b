"""Datasets, augmentations, losses, the training loop, evaluation and the train_model command."""
