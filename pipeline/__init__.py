"""Machi: shade, people flow and walkability for Japanese cities."""

__version__ = "0.2.0"
