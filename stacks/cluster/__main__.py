"""Pulumi program: one workload cluster in the management cluster.

For `pulumi up` in this folder. The program itself is
`clusterctl_py.programs.cluster.main`, the same one `clusterctl-py up` runs;
relative paths in config (`clusterctl:platformFile`) start here.
"""

from pathlib import Path

from clusterctl_py.programs import cluster

cluster.main(base_dir=Path(__file__).parent)
