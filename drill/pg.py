"""Two regions of database: PostgreSQL (Debian packages) on loopback.

us-east-1 starts as the primary, us-east-2 as an asynchronous streaming
replica (hot standby: it answers read-only, as an Aurora secondary does).
Promotion is `pg_promote()` (as `failover-global-cluster` would); a region
is rebuilt as a replica of the other with `pg_basebackup`.

As root, the servers run as the `postgres` system user (runuser), like
scripts/services.sh. Data lives in a private /tmp directory that `cleanup`
removes.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import time


def bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: [int(x) for x in d.split("/")[-2].split(".") if x.isdigit()])
    for d in reversed(dirs):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("PostgreSQL server binaries missing (scripts/services.sh start installs them)")


class Cluster:
    """Holds the superuser credentials and the base directory."""

    def __init__(self, superuser="drgen", password=None):
        self.bin = bindir()
        self.superuser = superuser
        self.password = password or os.urandom(16).hex()
        self.as_root = os.getuid() == 0
        self.base = tempfile.mkdtemp(prefix="drgen-drill-pg.")
        if self.as_root:
            subprocess.run(["id", "postgres"], check=True, capture_output=True)
            shutil.chown(self.base, "postgres")
        os.chmod(self.base, 0o700)

    def run(self, args, **kw):
        if self.as_root:
            args = ["runuser", "-u", "postgres", "--"] + args
        kw.setdefault("cwd", "/")
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(args, **kw)

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)


class Node:
    def __init__(self, cluster, name, port):
        self.c = cluster
        self.name = name
        self.port = port
        self.data = os.path.join(cluster.base, name)
        self.log = os.path.join(cluster.base, name + ".log")

    # -------------------------------------------------------------- control
    def initdb(self):
        pw = os.path.join(self.c.base, "pw-" + self.name)
        with open(pw, "w") as f:
            f.write(self.c.password + "\n")
        if self.c.as_root:
            shutil.chown(pw, "postgres")
        r = self.c.run([os.path.join(self.c.bin, "initdb"), "-D", self.data, "-U", self.c.superuser,
                        "--auth=scram-sha-256", "--pwfile=" + pw, "-E", "UTF8", "--no-locale"],
                       capture_output=True, text=True)
        os.unlink(pw)
        if r.returncode:
            raise RuntimeError("initdb failed: " + r.stderr)

    def start(self):
        opts = ("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories= -c max_connections=200 "
                "-c fsync=off -c full_page_writes=off -c wal_level=replica -c max_wal_senders=8 "
                "-c hot_standby=on -c wal_keep_size=256MB -c synchronous_commit=on "
                "-c wal_receiver_status_interval=1 -c hot_standby_feedback=on" % self.port)
        r = self.c.run([os.path.join(self.c.bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60",
                        "-o", opts, "start"], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("%s did not start: %s %s" % (self.name, r.stderr, self.tail_log()))

    def tail_log(self):
        try:
            return open(self.log).read()[-2000:]
        except OSError:
            return ""

    def running(self):
        pid = os.path.join(self.data, "postmaster.pid")
        try:
            p = int(open(pid).readline())
            os.kill(p, 0)
            return True
        except (OSError, ValueError):
            return False

    def stop(self, mode="fast"):
        """mode=immediate is the crash: no shutdown checkpoint, walsenders
        quit without sending what they have not sent yet."""
        if not os.path.exists(os.path.join(self.data, "postmaster.pid")):
            return
        self.c.run([os.path.join(self.c.bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "30", "stop"],
                   capture_output=True)

    def wipe(self):
        self.stop("immediate")
        shutil.rmtree(self.data, ignore_errors=True)

    def basebackup_from(self, upstream):
        """Rebuild this node as a streaming replica of `upstream`."""
        self.wipe()
        env = dict(os.environ, PGPASSWORD=self.c.password)
        args = [os.path.join(self.c.bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", str(upstream.port),
                "-U", self.c.superuser, "-D", self.data, "-X", "stream", "-c", "fast", "--no-password"]
        if self.c.as_root:
            args = ["runuser", "-u", "postgres", "-w", "PGPASSWORD", "--"] + args
        r = subprocess.run(args, env=env, capture_output=True, text=True, cwd="/", stdin=subprocess.DEVNULL)
        if r.returncode:
            raise RuntimeError("pg_basebackup failed: " + r.stderr)
        # Standby settings (written here, not by -R, to keep the password in
        # one throw-away file readable by the server user only).
        auto = os.path.join(self.data, "postgresql.auto.conf")
        with open(auto, "a") as f:
            f.write("primary_conninfo = 'host=127.0.0.1 port=%d user=%s password=%s application_name=%s'\n"
                    % (upstream.port, self.c.superuser, self.c.password, self.name))
            f.write("default_transaction_read_only = off\n")
        open(os.path.join(self.data, "standby.signal"), "w").close()
        if self.c.as_root:
            for p in (auto, os.path.join(self.data, "standby.signal")):
                shutil.chown(p, "postgres")

    # -------------------------------------------------------------- SQL
    def sql(self, query, db="postgres", timeout=10, check=True):
        """Runs SQL as the superuser; returns rows (lists of strings)."""
        env = dict(os.environ, PGPASSWORD=self.c.password, PGCONNECT_TIMEOUT="3")
        r = subprocess.run([os.path.join(self.c.bin, "psql"), "-X", "-q", "-A", "-t", "-F", "\t",
                            "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", self.c.superuser, "-d", db, "-c", query],
                           env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if r.returncode:
            if check:
                raise RuntimeError("%s: %s: %s" % (self.name, query[:80], r.stderr.strip()))
            return None
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def in_recovery(self):
        rows = self.sql("SELECT pg_is_in_recovery()", check=False)
        return None if rows is None else rows[0][0] == "t"

    def promote(self):
        self.sql("SELECT pg_promote(true, 60)", timeout=70)
        # Writable at once for new sessions; wait until it answers so.
        for _ in range(200):
            if self.in_recovery() is False:
                return
            time.sleep(0.02)
        raise RuntimeError("%s: still in recovery after promotion" % self.name)

    def set_read_only(self, on):
        self.sql("ALTER SYSTEM SET default_transaction_read_only = %s" % ("on" if on else "off"))
        self.sql("SELECT pg_reload_conf()")

    def wait_replayed(self, replica, timeout=30):
        """Waits until `replica` has replayed everything this node wrote."""
        lsn = self.sql("SELECT pg_current_wal_lsn()")[0][0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = replica.sql("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '%s') >= 0" % lsn, check=False)
            if rows and rows[0][0] == "t":
                return lsn
            time.sleep(0.02)
        raise RuntimeError("replica %s did not catch up with %s" % (replica.name, lsn))

    def replication_sample(self):
        """Lag as seen by the primary (pg_stat_replication)."""
        rows = self.sql(
            "SELECT pg_current_wal_lsn(), coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), -1), "
            "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn), -1), "
            "coalesce(extract(epoch from replay_lag) * 1000, 0), coalesce(extract(epoch from write_lag) * 1000, 0) "
            "FROM pg_stat_replication RIGHT JOIN (SELECT 1) x ON true LIMIT 1", check=False)
        if not rows:
            return None
        lsn, replay_b, flush_b, replay_ms, write_ms = rows[0]
        return {"primary_lsn": lsn, "replay_behind_bytes": int(float(replay_b)),
                "flush_behind_bytes": int(float(flush_b)), "replay_lag_ms": float(replay_ms),
                "write_lag_ms": float(write_ms)}
