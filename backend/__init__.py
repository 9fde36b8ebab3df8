"""Retex backend: restoration and stylization networks, pipeline, training and evaluation."""

__version__ = "0.1.0"
