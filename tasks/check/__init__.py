"""Checking a manuscript's reference list against the lake: retractions, editorial notices, contrasting evidence."""
