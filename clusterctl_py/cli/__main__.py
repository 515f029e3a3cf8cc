"""`python -m clusterctl_py.cli`."""

from clusterctl_py.cli import main

main()
