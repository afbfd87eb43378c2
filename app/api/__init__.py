"""The HTTP service (SPEC §4): FastAPI app factory, dependencies, problem details, routers."""
