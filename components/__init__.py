"""Reusable ComponentResources. They take typed arguments, never read config, and know nothing of the PSF."""
