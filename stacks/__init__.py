"""The PSF estate: settings, providers, one module per datacenter and the global edge."""
