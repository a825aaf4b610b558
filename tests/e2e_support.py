"""What the browser tests share: a real platform on loopback (what `make run` does on a fresh data dir:
migrate, the demo tenant, web server + django-q2 worker), headless Debian Chromium, the console login."""

import os
import re
import shutil
from contextlib import contextmanager

import pytest

from tests.services import PYTHON, Processes, free_port, manage, platform_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The duration of the <video> a selector names, once its metadata loaded (fails if it cannot be played).
VIDEO_DURATION = """async (selector) => {
  const video = document.querySelector(selector);
  if (video.readyState < 1) await new Promise((resolve, reject) => {
    video.addEventListener("loadedmetadata", resolve, {once: true});
    video.addEventListener("error", () => reject(new Error("the video cannot be played")), {once: true});
    video.load();
  });
  return video.duration;
}"""


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (make test installs it)")


@contextmanager
def demo_platform(data_dir, **env_overrides):
    """{"base", "env", "data", "password" (demo-admin), "admin_password" (platform-admin)} of a running platform."""
    require_chromium()
    env = platform_env(data_dir, **env_overrides)
    manage(env, "migrate", "--no-input", "-v0")
    output = manage(env, "bootstrap_demo")
    port = free_port()
    processes = Processes(data_dir / "logs")
    try:  # runplatform starts the web server and the job worker (django-q2 qcluster)
        web = processes.start("platform", [PYTHON, "manage.py", "runplatform", "--port", str(port)], env)
        processes.wait_for_port(web, port, timeout=60)
        admin = re.search(r"user platform-admin\s+password (\S+)", output)
        yield {"base": f"http://127.0.0.1:{port}", "env": env, "data": data_dir,
               "password": re.search(r"user demo-admin\s+password (\S+)", output).group(1),
               "admin_password": admin.group(1) if admin else None}
    finally:
        processes.stop_all()


@contextmanager
def chromium(*extra_args: str):
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + list(extra_args))
        try:
            yield launched
        finally:
            launched.close()


def login(page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", name)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")
