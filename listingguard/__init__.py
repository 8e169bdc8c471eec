"""listingguard: the glue between configuration, the store, the command line and the pipeline stages."""

__version__ = "0.1.0"
