"""The few HTML pages cs_mcp serves to a person (OAuth consent, approval of a write).

Server-rendered, no script, no external assets: every page is sent with a strict Content-Security-
Policy that allows only its own stylesheet (by hash) and forms posting back to cs_mcp.
"""
