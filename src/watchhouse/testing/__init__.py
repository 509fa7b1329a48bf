"""Test support shipped with the package so plug-in authors can use it too."""
