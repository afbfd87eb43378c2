"""Reliability and security: fuzzed API, hostile input, concurrency, crashes, access control."""
