"""A throwaway PostgreSQL 15 cluster for the tests: initdb + pg_ctl in a temporary
directory, on a free loopback port, as an unprivileged user (`postgres` when we are root),
torn down always (also on failure or a signal).

    python3 pg_cluster.py CMD ARGS...    runs CMD with JITGATE_TEST_PG_* set (below) to a
                                         cluster it starts (or to the one the
                                         environment already names) and stops it after.
    python3 pg_cluster.py --around CMD   the same, but runs CMD without PostgreSQL too
                                         (make test wraps both meson runs in it).

Environment given to CMD (and read by jitgated_harness.Server):
    JITGATE_TEST_STORE=pg
    JITGATE_TEST_PG_HOST, JITGATE_TEST_PG_PORT   where the cluster listens (TCP)
    JITGATE_TEST_PG_SOCKDIR                      its Unix socket directory (superuser, trust)
    JITGATE_TEST_PG_PASSFILE                     the password of role `jitgate` (TCP, SCRAM)

The cluster is small on purpose (the machine is shared): shared_buffers 16MB, fsync on
(the durability tests need it), WAL for one streaming standby.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = None
for v in ("15", "16", "17", "14", "13"):
    if os.path.exists(f"/usr/lib/postgresql/{v}/bin/initdb"):
        PG_BIN = f"/usr/lib/postgresql/{v}/bin"
        break


def available():
    """None when a cluster can be made here, else the reason it cannot."""
    if PG_BIN is None:
        return "PostgreSQL server binaries not installed (scripts/deps.sh test installs postgresql-15)"
    if shutil.which("psql") is None:
        return "psql not installed (postgresql-client-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "no unprivileged 'postgres' user to run the cluster as"
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    def __init__(self, base=None, port=None):
        self.own_base = base is None
        self.base = base or tempfile.mkdtemp(prefix="jitgate-pg-")
        self.data = os.path.join(self.base, "data")
        self.sockdir = self.base
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.passfile = os.path.join(self.base, "jitgate.password")
        self.log = os.path.join(self.base, "postgres.log")
        self.user = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            self.user = "postgres"
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        os.chmod(self.base, 0o755)

    def _run(self, args, check=True, **kw):
        if self.user:
            args = ["runuser", "-u", self.user, "--"] + args
        # From the cluster's own directory: the checkout may be one the postgres user
        # cannot enter (a clone under /root), and pg_ctl changes back to where it started.
        kw.setdefault("cwd", self.base)
        return subprocess.run(args, check=check, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, **kw)

    def conf(self):
        return (f"port = {self.port}\n"
                f"listen_addresses = '{self.host}'\n"
                f"unix_socket_directories = '{self.sockdir}'\n"
                "shared_buffers = 16MB\n"
                "max_connections = 200\n"
                "fsync = on\n"
                "synchronous_commit = on\n"
                "wal_level = replica\n"
                "max_wal_senders = 4\n"
                "hot_standby = on\n"
                "dynamic_shared_memory_type = posix\n"
                "log_min_messages = warning\n"
                "log_line_prefix = '%m [%p] '\n")

    def init(self):
        with open(os.path.join(self.base, "pw.tmp"), "w") as f:
            f.write("postgres-unused\n")
        self._run([f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--locale=C.UTF-8",
                   "-E", "UTF8", "--auth-local=trust", "--auth-host=scram-sha-256",
                   "--pwfile", os.path.join(self.base, "pw.tmp")])
        conf = os.path.join(self.data, "postgresql.conf")
        self._run(["sh", "-c", f"cat >> {conf}"], input=self.conf().encode())
        # The superuser (the tests' own set-up) without a password, on the socket and for
        # replication; jitgate's role always with its password, on the socket and TCP.
        hba = os.path.join(self.data, "pg_hba.conf")
        self._run(["sh", "-c", f"cat > {hba}"], input=(
            "local all postgres trust\n"
            "local replication postgres trust\n"
            "host replication postgres 127.0.0.1/32 trust\n"
            "local all all scram-sha-256\n"
            "host all all 127.0.0.1/32 scram-sha-256\n").encode())
        return self

    def start(self):
        self._run([f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60",
                   "start"])
        return self

    def stop(self, mode="fast"):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run([f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"],
                      check=False)

    def destroy(self):
        self.stop("immediate")
        if self.own_base:
            shutil.rmtree(self.base, ignore_errors=True)

    def psql(self, sql, db="postgres"):
        r = subprocess.run(["psql", "-h", self.sockdir, "-p", str(self.port), "-U", "postgres",
                            "-d", db, "-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr}")
        return r.stdout

    def make_role(self, password="jitgate-test-" + str(os.getpid())):
        self.psql(f"CREATE ROLE jitgate LOGIN CREATEDB PASSWORD '{password}'")
        with open(self.passfile, "w") as f:
            f.write(password + "\n")
        os.chmod(self.passfile, 0o600)
        return self

    def env(self):
        return {
            "JITGATE_TEST_STORE": "pg",
            "JITGATE_TEST_PG_HOST": self.host,
            "JITGATE_TEST_PG_PORT": str(self.port),
            "JITGATE_TEST_PG_SOCKDIR": self.sockdir,
            "JITGATE_TEST_PG_PASSFILE": self.passfile,
        }

    def standby(self, port=None):
        """A streaming standby of this cluster (pg_basebackup -R), started."""
        sb = Cluster(base=tempfile.mkdtemp(prefix="jitgate-pg-standby-"), port=port)
        sb.own_base = True
        sb.passfile = self.passfile
        self._run([f"{PG_BIN}/pg_basebackup", "-h", self.host, "-p", str(self.port),
                   "-U", "postgres", "-D", sb.data, "-R", "-X", "stream", "-c", "fast"])
        conf = os.path.join(sb.data, "postgresql.conf")
        sb._run(["sh", "-c", f"cat >> {conf}"], input=sb.conf().encode())
        return sb.start()

    def promote(self):
        self._run([f"{PG_BIN}/pg_ctl", "-D", self.data, "-w", "promote"])


class Database:
    """One database per jitgated under test (so tests never see each other's rows)."""
    counter = 0

    def __init__(self, name=None):
        Database.counter += 1
        self.name = name or f"jg_{os.getpid()}_{Database.counter}_{int(time.time() * 1000) % 100000}"
        self.host = os.environ["JITGATE_TEST_PG_HOST"]
        self.port = os.environ["JITGATE_TEST_PG_PORT"]
        self.sockdir = os.environ["JITGATE_TEST_PG_SOCKDIR"]
        self.passfile = os.environ["JITGATE_TEST_PG_PASSFILE"]

    def psql(self, sql, db=None):
        r = subprocess.run(["psql", "-h", self.sockdir, "-p", self.port, "-U", "postgres",
                            "-d", db or self.name, "-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr}")
        return r.stdout

    def psql_rows(self, sql):
        """Rows as tuples of strings (None for NULL)."""
        r = subprocess.run(["psql", "-h", self.sockdir, "-p", self.port, "-U", "postgres",
                            "-d", self.name, "-v", "ON_ERROR_STOP=1", "-qAtX",
                            "-F", "\x1f", "-R", "\x1e", "-P", "null=\x1d", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr}")
        text = r.stdout.rstrip("\n")
        if text == "":
            return []
        return [tuple(None if v == "\x1d" else v for v in row.split("\x1f"))
                for row in text.split("\x1e")]

    def create(self):
        self.psql(f"CREATE DATABASE {self.name} OWNER jitgate", db="postgres")
        return self

    def drop(self):
        try:
            self.psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)", db="postgres")
        except RuntimeError:
            pass

    @property
    def uri(self):
        """Over the Unix socket: it reaches the cluster from any network namespace."""
        return f"postgresql:///{self.name}?host={self.sockdir}&port={self.port}&user=jitgate"

    @property
    def tcp_uri(self):
        return f"postgresql://jitgate@{self.host}:{self.port}/{self.name}"


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if os.environ.get("JITGATE_TEST_PG_PORT"):
        return subprocess.call(argv[1:], env=dict(os.environ, JITGATE_TEST_STORE="pg"))
    around = argv[1] == "--around"
    if around:
        # make test: one cluster for the whole run (both builds); without PostgreSQL the
        # run goes on and each *-pg test skips itself with the reason.
        argv = argv[1:]
    why = available()
    if why:
        if around:
            print("make test: no PostgreSQL cluster (" + why + "); the -pg tests skip",
                  file=sys.stderr)
            return subprocess.call(argv[1:])
        print("1..0 # SKIP " + why)
        return 0
    c = Cluster()
    child = None

    def stop(sig, frame):
        if child is not None and child.poll() is None:
            child.send_signal(sig)
        raise SystemExit(128 + sig)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        c.init().start().make_role()
        env = dict(os.environ, **c.env())
        if around:
            # The cluster is for the *-pg tests (each sets JITGATE_TEST_STORE itself
            # through this file); every other test keeps its SQLite store.
            env.pop("JITGATE_TEST_STORE")
        child = subprocess.Popen(argv[1:], env=env)
        return child.wait()
    except subprocess.CalledProcessError as e:
        print("# cannot start PostgreSQL: " + (e.stdout or b"").decode("utf-8", "replace"))
        try:
            with open(c.log) as f:
                print("# " + f.read().replace("\n", "\n# "))
        except OSError:
            pass
        if around and child is None:
            # The whole run still goes on; each *-pg test tries (and reports) on its own.
            c.destroy()
            return subprocess.call(argv[1:])
        return 1
    finally:
        c.destroy()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
