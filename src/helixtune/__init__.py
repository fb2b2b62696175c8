"""helixtune: Helixer-style gene annotation in PyTorch, built for fine-tuning to new species."""

__version__ = "0.1.0"
