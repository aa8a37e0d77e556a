"""The psf-infra policy pack: rules (pure), the CrossGuard adapter (``__main__``) and the offline adapter."""
