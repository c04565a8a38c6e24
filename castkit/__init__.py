"""castkit: screencasts to DV, with title cards, trims and joins, from one YAML recipe."""

__version__ = "0.1.0"
