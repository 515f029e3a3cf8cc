"""Pulumi program: the app platform in one workload cluster.

For `pulumi up` in this folder. The program itself is
`clusterctl_py.programs.platform.main`, the same one `clusterctl-py up` runs;
relative paths in config (`clusterctl:platformFile`) start here.
"""

from pathlib import Path

from clusterctl_py.programs import platform

platform.main(base_dir=Path(__file__).parent)
