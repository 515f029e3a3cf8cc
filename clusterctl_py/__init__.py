"""clusterctl-py: Cluster API lifecycle management for Hetzner Cloud.

The public surface is small on purpose: load a platform spec, render it,
hand the result to Pulumi or to the CLI. Everything else is internal.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
