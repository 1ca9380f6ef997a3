"""Credentials as ``httpx.Auth`` objects: Google (google-auth), and later AWS SigV4 (botocore).

Each submodule imports its vendor library lazily, so ``import polymodal`` stays light.
"""
