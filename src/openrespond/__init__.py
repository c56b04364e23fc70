"""openrespond: a self-hostable server for the respond.io Developer API v2."""

__version__ = "0.1.0"
