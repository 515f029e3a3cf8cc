"""Clients of the APIs clusterctl-py talks to at run time, one module per API.

The only modules that import the `hcloud` and `kubernetes` SDKs (import-linter
holds that). They hand out our own frozen dataclasses, never the SDKs' objects:
an incomplete hcloud Bound object makes a hidden GET the first time a missing
attribute is read, one request per object. Each API has one retry policy,
configured here and never stacked, and SDK errors leave as `ClientError`s
(clusterctl_py.clients.errors) that carry what a user can act on and never a
response body.
"""
