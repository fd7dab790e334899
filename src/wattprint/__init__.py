"""wattprint: electricity, carbon, cost and water of AI training and inference."""
__version__ = "0.1.0"
