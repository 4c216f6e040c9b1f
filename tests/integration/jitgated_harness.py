"""A real jitgated on a temporary state dir and a free port, and an HTTPS client for it.

Used by the integration tests (which speak TAP through the small `Tap` class here).
Nothing is mocked: the server is the built binary, the client pins the server's
self-signed certificate exactly as a user's client would.
"""
import atexit
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

API = "2020-01-01"


class Server:
    def __init__(self, binary, state_dir=None, extra_args=()):
        self.binary = binary
        self.own_dir = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="jitgated-test-")
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.state_dir, "jitgated.log")
        # JITGATE_TEST_STORE=pg (tests/integration/pg_cluster.py sets it): the server's store
        # is a database of its own on the test cluster, kept with the state dir (a restart on
        # the same state dir finds the same database).
        self.pg = None
        if os.environ.get("JITGATE_TEST_STORE") == "pg":
            import pg_cluster
            os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
            name_file = os.path.join(self.state_dir, "pg-database")
            if os.path.exists(name_file):
                with open(name_file) as f:
                    self.pg = pg_cluster.Database(f.read().strip())
            else:
                self.pg = pg_cluster.Database().create()
                with open(name_file, "w") as f:
                    f.write(self.pg.name)

    def store_args(self):
        """The jitgated arguments that select this server's store."""
        if self.pg is None:
            return []
        return ["--store", self.pg.uri, "--store-password-file", self.pg.passfile]

    def sql(self, query):
        """Runs SQL on the server's store (either backend): a list of row tuples."""
        if self.pg is None:
            import sqlite3
            db = sqlite3.connect(os.path.join(self.state_dir, "jitgate.db"))
            try:
                rows = [tuple(r) for r in db.execute(query)]
                db.commit()
            finally:
                db.close()
            return rows
        out = self.pg.psql_rows(query)
        return out

    def require_sqlite(self, why="reads the SQLite file directly"):
        if self.pg is not None:
            raise Skip(f"on PostgreSQL: this test {why}")

    def start(self, timeout=20):
        log = open(self.log_path, "ab")
        seen = len(self.log())
        args = [self.binary, "--state-dir", self.state_dir, "--listen", "127.0.0.1:0"]
        args += self.store_args()
        if os.geteuid() == 0:
            args.append("--allow-root")
        self.proc = subprocess.Popen(args + self.extra_args, stdout=log, stderr=log)
        # A test that dies (or whose setup fails) must not leave its server running.
        atexit.register(self._kill_at_exit, self.proc)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("jitgated exited early:\n" + self.log())
            m = re.findall(r"event=listening .*port=(\d+)", self.log()[seen:])
            if m:
                self.port = int(m[-1])
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("jitgated did not start:\n" + self.log())
        ctx = ssl.create_default_context(cafile=os.path.join(self.state_dir, "tls", "cert.pem"))
        self.ssl = ctx
        with open(os.path.join(self.state_dir, "admin.token")) as f:
            self.admin_token = f.read().strip()
        return self

    @staticmethod
    def _kill_at_exit(proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def cleanup(self):
        self.stop()
        if self.pg is not None and self.own_dir:
            self.pg.drop()
        if self.own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, token="admin", api_version=API, raw=None,
                headers=None, query=None, timeout=60):
        """Returns (status, parsed JSON or None, headers)."""
        q = []
        if api_version is not None:
            q.append(f"api-version={api_version}")
        if query:
            q.extend(f"{k}={v}" for k, v in query.items())
        url = self.url + path + ("?" + "&".join(q) if q else "")
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token == "admin":
            token = self.admin_token
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, context=self.ssl, timeout=timeout) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else None), dict(r.headers)
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = {"_raw": text.decode("utf-8", "replace")}
            return e.code, parsed, dict(e.headers)


class Tap:
    """Minimal TAP producer: each test is a function; failures print diagnostics."""

    def __init__(self):
        self.tests = []

    def test(self, fn):
        self.tests.append(fn)
        return fn

    def run(self, setup=None, teardown=None):
        print(f"1..{len(self.tests)}", flush=True)
        failed = 0
        ctx = None
        try:
            ctx = setup() if setup else None
        except Exception:
            for i, fn in enumerate(self.tests, 1):
                print(f"not ok {i} - {fn.__name__} (setup failed)")
            traceback.print_exc(file=sys.stdout)
            return 1
        try:
            for i, fn in enumerate(self.tests, 1):
                try:
                    fn(ctx)
                    print(f"ok {i} - {fn.__name__}", flush=True)
                except Skip as s:
                    print(f"ok {i} - {fn.__name__} # SKIP {s}", flush=True)
                except Exception:
                    failed += 1
                    print(f"not ok {i} - {fn.__name__}", flush=True)
                    for line in traceback.format_exc().splitlines():
                        print("# " + line)
        finally:
            if teardown:
                teardown(ctx)
        return 1 if failed else 0


class Skip(Exception):
    pass


def expect(cond, msg="", *details):
    if not cond:
        raise AssertionError(str(msg) + ("\n" + "\n".join(repr(d) for d in details) if details else ""))


def expect_error(resp, status, code=None, contains=None):
    st, body, _ = resp
    expect(st == status, f"expected HTTP {status}, got {st}", body)
    expect(isinstance(body, dict) and "error" in body, "not an ARM error body", body)
    err = body["error"]
    expect(set(err.keys()) >= {"code", "message"}, "error lacks code/message", body)
    if code:
        expect(err["code"] == code, f"expected code {code}", body)
    if contains:
        expect(contains in err["message"], f"message lacks {contains!r}", body)
    return err
