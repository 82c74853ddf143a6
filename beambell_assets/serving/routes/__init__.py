"""The prediction service's routers, one per audience; ``serving.api.create_app`` includes them."""
