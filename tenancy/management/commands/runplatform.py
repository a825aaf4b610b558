import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server (uvicorn: HTTP + WebSocket) and the job workers (django-q2) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("METASTUDIO_HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("METASTUDIO_PORT", "8000"))
        parser.add_argument("--no-worker", action="store_true", help="web only (workers run elsewhere)")

    def handle(self, *args, host, port, no_worker, **options):
        python = sys.executable
        # uvicorn streams request bodies with back-pressure (daphne buffers a whole upload in memory first).
        commands = [[python, "-m", "uvicorn", "metastudio.asgi:application", "--host", host, "--port", str(port),
                     "--ws", "websockets", "--http", "httptools", "--lifespan", "off", "--no-server-header"]]
        if not no_worker:
            commands.append([python, "manage.py", "qcluster"])
        children = [subprocess.Popen(command) for command in commands]
        self.stdout.write(self.style.SUCCESS(f"MetaStudio console on http://{host}:{port}/  (Ctrl-C to stop)"))
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        failed = [child.args for child in children if child.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            raise SystemExit(f"a process stopped unexpectedly: {failed}")
