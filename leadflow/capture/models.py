"""Capture models."""
