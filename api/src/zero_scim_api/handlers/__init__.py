"""Falcon resources: thin translations between HTTP and the services.

Each resource parses what the request carries (query parameters, the JSON body the
middleware read, conditional headers), calls one service method and renders its result
or lets its :class:`~zero_scim.scim.ScimError` propagate to the error handlers.
"""
