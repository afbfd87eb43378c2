"""Use cases over the domain: load scenarios, answer route and plan questions.

The HTTP API and the CLI both call these functions, so the same document gives
the same answer through either.
"""
