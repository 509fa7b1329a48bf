"""The office's HTTP face: a JSON API under ``/api/v1`` and a server-rendered console (ADR 0007).

Build it with :func:`watchhouse.web.app.create_app`; nothing here reads global settings.
"""
