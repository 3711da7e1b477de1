"""Hosted mode: one server, many users, each with their own CallScaler key (header or OAuth)."""
