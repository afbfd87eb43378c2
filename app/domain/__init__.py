"""The pure core of safe-passage.

Scenario model and validation, risk, routing and evacuation flow. Nothing in
this package imports a web framework or a database driver, or does I/O: it
works on bytes, dictionaries and numbers handed to it.
"""
