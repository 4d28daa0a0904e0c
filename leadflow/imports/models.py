"""Imports models."""
