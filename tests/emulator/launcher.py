"""Local AWS emulator for the drgen end-to-end test: moto[server] on loopback
with the behaviour moto lacks added (tests/emulator/extensions.py).

    python3 -m tests.emulator.launcher start [--dir D] [--port P] [--account-id ID]
        starts it in the background; prints the endpoint URL; writes D/port,
        D/pid, D/endpoint and D/emulator.log (default D: target/emulator)
    python3 -m tests.emulator.launcher stop [--dir D]
        stops the emulator whose pid is in D/pid
    python3 -m tests.emulator.launcher serve [--port P] [--account-id ID]
        runs it in the foreground (what `start` spawns)

Installs moto[server] from PyPI when it is missing. Listens on 127.0.0.1 only.
MOTO_IAM_LOAD_MANAGED_POLICIES=true: the AWS-managed policies exist.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MOTO_SPEC = "moto[server]>=5.1,<6"


def ensure_moto() -> None:
    try:
        import moto.server  # noqa: F401
        return
    except ImportError:
        pass
    print(f"emulator: moto missing: pip install '{MOTO_SPEC}'", file=sys.stderr)
    cmd = [sys.executable, "-m", "pip", "install", "-q", MOTO_SPEC]
    if subprocess.call(cmd, stdin=subprocess.DEVNULL) != 0:
        subprocess.check_call(cmd + ["--break-system-packages"], stdin=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CRED = re.compile(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/")


def request_log(app):  # type: ignore[no-untyped-def]
    """WSGI middleware: one line per request with service, region and action
    (from the SigV4 scope, X-Amz-Target or the form's Action), status and time."""
    import io
    from urllib.parse import parse_qs

    def wrapped(environ, start_response):  # type: ignore[no-untyped-def]
        t0 = time.time()
        m = _CRED.search(environ.get("HTTP_AUTHORIZATION", ""))
        region, service = (m.group(1), m.group(2)) if m else ("-", "-")
        action = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        if not action and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            n = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(n) if n else b""
            environ["wsgi.input"] = io.BytesIO(body)
            action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        if not action:
            q = environ.get("QUERY_STRING", "")
            action = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO', '')[:80]}{'?' + q[:60] if q else ''}"
        status = {}

        def sr(st, headers, exc_info=None):  # type: ignore[no-untyped-def]
            status["s"] = st.split(" ", 1)[0]
            return start_response(st, headers, exc_info)

        try:
            return app(environ, sr)
        finally:
            print(f"req {time.strftime('%H:%M:%S')} {service} {region} {action} {status.get('s', '?')} "
                  f"{(time.time() - t0) * 1000:.0f}ms", flush=True)

    return wrapped


def serve(port: int, account_id: str | None) -> None:
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    # ACM issues a DNS-validated certificate this many seconds after the
    # request (moto's default 60 s), validation records or not: the e2e test
    # cannot prove DNS validation (see EXTENSIONS.md).
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "5")
    if account_id:
        os.environ["MOTO_ACCOUNT_ID"] = account_id
    ensure_moto()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    sys.path.insert(0, str(ROOT))
    from tests.emulator import extensions

    names = extensions.apply()
    print(f"emulator: moto extensions: {', '.join(names)}", flush=True)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", port, request_log(app), threaded=True)
    print(f"emulator: listening on http://127.0.0.1:{port}", flush=True)

    def on_signal(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def start(d: Path, port: int | None, account_id: str | None, timeout: float = 120) -> str:
    d.mkdir(parents=True, exist_ok=True)
    stop(d, quiet=True)
    ensure_moto()
    port = port or free_port()
    log = open(d / "emulator.log", "wb")  # noqa: SIM115 (handed to the child)
    cmd = [sys.executable, "-m", "tests.emulator.launcher", "serve", "--port", str(port)]
    if account_id:
        cmd += ["--account-id", account_id]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    p = subprocess.Popen(cmd, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    log.close()
    (d / "pid").write_text(f"{p.pid}\n")
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while True:
        if p.poll() is not None:
            sys.stderr.write((d / "emulator.log").read_text())
            raise SystemExit(f"emulator: exited with {p.returncode}")
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=2)
            break
        except Exception:
            if time.time() > deadline:
                stop(d, quiet=True)
                raise SystemExit(f"emulator: no answer on {url} after {timeout:.0f} s")
            time.sleep(0.2)
    (d / "port").write_text(f"{port}\n")
    (d / "endpoint").write_text(f"{url}\n")
    return url


def stop(d: Path, quiet: bool = False) -> None:
    pf = d / "pid"
    if not pf.exists():
        return
    try:
        pid = int(pf.read_text().strip())
    except ValueError:
        pid = 0
    if pid and pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not pid_alive(pid):
                break
            time.sleep(0.1)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        # Reap it when it is our child (start and stop in one process).
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not quiet:
            print(f"emulator: stopped (pid {pid})", file=sys.stderr)
    for f in ("pid", "port", "endpoint"):
        (d / f).unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("start", "stop", "serve"):
        sp = sub.add_parser(name)
        sp.add_argument("--dir", type=Path, default=ROOT / "target" / "emulator")
        sp.add_argument("--port", type=int, default=None)
        sp.add_argument("--account-id", default=None)
    a = ap.parse_args()
    if a.cmd == "serve":
        serve(a.port or 5000, a.account_id)
    elif a.cmd == "start":
        print(start(a.dir, a.port, a.account_id))
    else:
        stop(a.dir)


if __name__ == "__main__":
    main()
