"""Pure matching: owned assets against listing text and images. No network, no database, nothing of ours imported."""
