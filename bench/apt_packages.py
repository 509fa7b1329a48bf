"""Installing the Debian packages a benchmark compares against, with no service started.

Benchmarks need peers such as ``fail2ban-regex``, nginx with ModSecurity, or ``wrk``. Debian starts
a package's service on install unless ``/usr/sbin/policy-rc.d`` exits 101, and no benchmark may
leave a server running or listening beyond 127.0.0.1 — so the policy is put in place for the
install (and removed again only if we created it). One helper for every bench script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def can_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt_install(packages: list[str]) -> None:
    """``apt-get update`` and install ``packages`` (no recommends), services kept from starting.

    Failures are not raised: callers check afterwards that what they need is present and say
    clearly what is missing.
    """
    had_policy = POLICY_RC_D.exists()
    if not had_policy:
        POLICY_RC_D.write_text("#!/bin/sh\n# keep services from starting during package installs\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=False, env=env)
    finally:
        if not had_policy:
            POLICY_RC_D.unlink()
