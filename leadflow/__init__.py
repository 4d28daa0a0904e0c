"""Leadflow: open-source leads management."""

__version__ = "0.1.0"
