"""On-disk state: ``layout`` names every path; ``blobs`` (content-addressed), ``images``, ``layers``."""
