"""Chorus tiny text-to-audio model: data, networks, PRNG and reference sampler."""
