"""The Kubernetes layer: everything the API, the operator and the tools know about it.

=================  =======================================================================
``client``         :class:`~zero_scim.kube.client.KubeClient`: the one transport (aiohttp +
                   orjson), typed calls for custom objects, Namespaces and Secrets
``config``         where the API server is and how to authenticate (kubeconfig, in-cluster;
                   the only user of kubernetes_asyncio)
``errors``         the one error tree (drawn there)
``objects``        TypedDicts of the objects: metadata, Status, the four custom resources,
                   Secret, Namespace, lists, watch events
``coordinates``    API group/version, :class:`~zero_scim.kube.coordinates.Kind`\\ s,
                   labels, annotations, the finalizer; Kopf bodies → typed objects
``names``          object names of users and groups
``tenants``        :class:`~zero_scim.kube.tenants.Tenant`: a ZeroTenant's name and namespace
``secrets``        Secrets decoded, and built for writing
``tokens``         the tenant token Secret's format and the bearer-token check
=================  =======================================================================

This package imports nothing itself, so importing a pure module (``coordinates``,
``objects``) never pulls in the transport.
"""
