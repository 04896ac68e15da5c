"""The HTTP routes, one module per concern; ``web.app`` mounts them."""
