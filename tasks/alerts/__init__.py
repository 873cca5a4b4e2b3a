"""Watching papers: the watchlist, alert detection after each commit, and delivery of notifications."""
