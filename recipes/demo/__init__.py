"""The demo stack served by ``make demo``."""
