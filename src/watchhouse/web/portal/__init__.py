"""The public report portal (``/report``) and its office pages (``/portal``, ``/api/v1/portal``)."""
