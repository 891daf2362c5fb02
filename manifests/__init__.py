"""Registry of official sources (data files read by kinetics.manifests.sources and friends)."""
