"""Tested, copy-able setups: see each folder's README."""
