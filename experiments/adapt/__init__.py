"""Encode-time adaptation (Lam & Zare 2019): when a weight-update pays, and at what time
budget."""
