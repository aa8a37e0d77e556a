"""Adopting the live estate: discovery of what already exists, the import map, and the DNS cut-over check.

A tool for operators, never imported by the program (``__main__.py``, ``stacks/``, ``components/``): the
cloud clients it uses (boto3, pydo, fastly, datadog-api-client) are development requirements, so neither
``pulumi preview`` nor the offline plan pays for them.
"""
