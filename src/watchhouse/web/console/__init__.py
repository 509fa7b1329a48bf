"""The server-rendered console: plain HTML forms, no JavaScript, every form carries a CSRF token."""
