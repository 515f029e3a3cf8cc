"""Pulumi program: Cluster API in the management cluster.

For `pulumi up` in this folder. The program itself is
`clusterctl_py.programs.capi.main`, the same one `clusterctl-py up` runs;
relative paths in config (`clusterctl:platformFile`) start here.
"""

from pathlib import Path

from clusterctl_py.programs import capi

capi.main(base_dir=Path(__file__).parent)
