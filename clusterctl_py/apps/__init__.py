"""`clusterctl-py app ...`: developers' apps on a workload cluster, as Knative Services.

Operations take the `ObjectApi` Protocol (clusterctl_py.clients.kube), so they
never hold an SDK object; the objects they write come from the pure renderer
(clusterctl_py.render.app). They touch only objects labelled
`app.kubernetes.io/managed-by: clusterctl-py`.
"""
