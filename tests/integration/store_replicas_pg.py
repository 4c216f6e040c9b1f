"""The two-replica store cases (tests/unit/test_store.c, the same program the unit test
'store-replicas' runs on SQLite) on a PostgreSQL database of its own: run under
pg_cluster.py, which provides the cluster. Its TAP output is passed through."""
import os
import subprocess
import sys

import pg_cluster


def main():
    if os.environ.get("JITGATE_TEST_STORE") != "pg":
        print("1..0 # SKIP needs pg_cluster.py around it")
        return 0
    db = pg_cluster.Database().create()
    try:
        env = dict(os.environ, JITGATE_TEST_STORE_URI=db.uri,
                   JITGATE_STORE_PASSWORD_FILE=db.passfile, CMOCKA_MESSAGE_OUTPUT="TAP")
        return subprocess.call([sys.argv[1]], env=env)
    finally:
        db.drop()


if __name__ == "__main__":
    sys.exit(main())
