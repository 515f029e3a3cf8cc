"""Pulumi program: the management cluster on Hetzner Cloud.

For `pulumi up` in this folder. The program itself is
`clusterctl_py.programs.management.main`, the same one `clusterctl-py up` runs;
relative paths in config (`clusterctl:platformFile`) start here.
"""

from pathlib import Path

from clusterctl_py.programs import management

management.main(base_dir=Path(__file__).parent)
