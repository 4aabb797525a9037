"""fil-learn: imitation learning on fil demonstration datasets."""

__version__ = "0.1.0"
