"""The Python peers of `cargo xtask bench`, run with the stack venv's interpreter.

Each subcommand does one measurement and prints one JSON object on stdout. Times are taken
in-process with time.perf_counter (interpreter start and imports are left out, which favours
the Python clients); list timings include authentication, as the Rust figures do.
"""

import argparse
import http.client
import io
import json
import os
import statistics
import sys
import time
import urllib.parse

import yaml

# Lets the access-log counting attribute the raw loop's requests.
RAW_UA = "bench-raw-http"


def cloud(args):
    with open(args.clouds) as f:
        return yaml.safe_load(f)["clouds"][args.cloud]


def auth_body(c):
    """The body of POST /v3/auth/tokens for a password cloud of clouds.yaml."""
    a = c["auth"]
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": a["username"],
                        "password": a["password"],
                        "domain": {"name": a["user_domain_name"]},
                    }
                },
            },
            "scope": {
                "project": {
                    "name": a["project_name"],
                    "domain": {"name": a["project_domain_name"]},
                }
            },
        }
    }


def keystone_token(c):
    """A project-scoped token and the public endpoints of the catalog, with http.client."""
    u = urllib.parse.urlsplit(c["auth"]["auth_url"])
    conn = http.client.HTTPConnection(u.hostname, u.port)
    conn.request(
        "POST",
        u.path.rstrip("/") + "/auth/tokens",
        json.dumps(auth_body(c)),
        {"Content-Type": "application/json", "User-Agent": RAW_UA},
    )
    r = conn.getresponse()
    data = json.loads(r.read())
    conn.close()
    eps = {}
    for svc in data["token"]["catalog"]:
        for ep in svc["endpoints"]:
            if ep["interface"] == "public":
                eps[svc["type"]] = ep["url"]
    return r.getheader("X-Subject-Token"), eps


def glance_session(c):
    from keystoneauth1 import loading, session

    a = c["auth"]
    auth = loading.get_plugin_loader("password").load_from_options(
        auth_url=a["auth_url"],
        username=a["username"],
        password=a["password"],
        project_name=a["project_name"],
        user_domain_name=a["user_domain_name"],
        project_domain_name=a["project_domain_name"],
    )
    return session.Session(auth=auth)


def glanceclient(c):
    import glanceclient as gc

    return gc.Client("2", session=glance_session(c))


def sdk(args):
    import openstack

    return openstack.connect(cloud=args.cloud)


def raw_pages(conn, token, path):
    """Follows Glance's `next` links with one keep-alive connection; yields each page."""
    while path:
        conn.request("GET", path, headers={"X-Auth-Token": token, "User-Agent": RAW_UA})
        r = conn.getresponse()
        body = json.loads(r.read())
        if r.status != 200:
            sys.exit(f"GET {path}: {r.status} {body}")
        yield body
        path = body.get("next")


def cmd_list(args):
    c = cloud(args)
    started = time.perf_counter()
    if args.client == "raw":
        token, eps = keystone_token(c)
        g = urllib.parse.urlsplit(eps["image"])
        conn = http.client.HTTPConnection(g.hostname, g.port)
        path = g.path.rstrip("/") + f"/v2/images?limit=1000&tag={args.tag}"
        n = sum(len(p["images"]) for p in raw_pages(conn, token, path))
    elif args.client == "sdk":
        n = sum(1 for _ in sdk(args).image.images(tag=args.tag))
    elif args.client == "glanceclient":
        images = glanceclient(c).images.list(filters={"tag": [args.tag]}, page_size=1000)
        n = sum(1 for _ in images)
    else:
        sys.exit(f"unknown client {args.client}")
    return {"secs": time.perf_counter() - started, "items": n}


def cmd_page(args):
    """Writes the first page (1,000 images) of a tag's listing, exactly as Glance sent it."""
    token, eps = keystone_token(cloud(args))
    g = urllib.parse.urlsplit(eps["image"])
    conn = http.client.HTTPConnection(g.hostname, g.port)
    path = g.path.rstrip("/") + f"/v2/images?limit=1000&tag={args.tag}"
    conn.request("GET", path, headers={"X-Auth-Token": token, "User-Agent": RAW_UA})
    data = conn.getresponse().read()
    with open(args.out, "wb") as f:
        f.write(data)
    return {"bytes": len(data), "items": len(json.loads(data)["images"])}


def cmd_decode(args):
    """Bytes of a page to client objects, timed in-process; min and median over repeats."""
    with open(args.page, "rb") as f:
        data = f.read()
    if args.client == "json":

        def decode():
            return json.loads(data)["images"]

    elif args.client == "sdk":
        from openstack.image.v2.image import Image

        def decode():
            # What Resource.list does with each item of a page.
            out = []
            for d in json.loads(data)["images"]:
                d.pop("self", None)
                out.append(Image.existing(**d))
            return out

    elif args.client == "glanceclient":
        import warlock
        from glanceclient.v2 import schemas

        with open(args.schema) as f:
            schema = json.load(f)
        # Controller.unvalidated_model: what images.list builds for each item.
        model = warlock.model_factory(schema, base_class=schemas.SchemaBasedModel)
        model.validate = lambda *a, **k: None

        def decode():
            out = []
            for d in json.loads(data)["images"]:
                d.pop("self", None)
                out.append(model(**d))
            return out

    else:
        sys.exit(f"unknown client {args.client}")
    n = len(decode())
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        decode()
        times.append(time.perf_counter() - started)
    return {
        "bytes": len(data),
        "items": n,
        "min": min(times),
        "median": statistics.median(times),
    }


def cmd_upload(args):
    """Creates an image (untimed) and uploads a file into it (timed); prints the id."""
    c = cloud(args)
    name = args.name
    if args.client == "sdk":
        conn = sdk(args)
        img = conn.image.create_image(
            name=name,
            disk_format="raw",
            container_format="bare",
            allow_duplicates=True,
            tags=[args.tag],
        )
        with open(args.file, "rb") as f:
            started = time.perf_counter()
            img.upload(conn.image, data=f)
            secs = time.perf_counter() - started
        return {"secs": secs, "id": img.id}
    if args.client == "glanceclient":
        gc = glanceclient(c)
        img = gc.images.create(
            name=name, disk_format="raw", container_format="bare", tags=[args.tag]
        )
        with open(args.file, "rb") as f:
            started = time.perf_counter()
            gc.images.upload(img["id"], f)
            secs = time.perf_counter() - started
        return {"secs": secs, "id": img["id"]}
    sys.exit(f"unknown client {args.client}")


class Sink(io.RawIOBase):
    """Counts what is written and keeps none of it."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def writable(self):
        return True

    def write(self, b):
        self.n += len(b)
        return len(b)


def cmd_download(args):
    """A verified download to /dev/null, timed from the request to the checked last byte."""
    c = cloud(args)
    n = 0
    if args.client == "sdk":
        conn = sdk(args)
        img = conn.image.get_image(args.id)
        sink = Sink()
        started = time.perf_counter()
        # output= makes openstacksdk check the hash Glance published while writing.
        conn.image.download_image(img, output=sink)
        n = sink.n
        secs = time.perf_counter() - started
    elif args.client == "glanceclient":
        gc = glanceclient(c)
        gc.images.get(args.id)
        started = time.perf_counter()
        # do_checksum (the default) verifies os_hash_value as the body is iterated.
        for chunk in gc.images.data(args.id):
            n += len(chunk)
        secs = time.perf_counter() - started
    else:
        sys.exit(f"unknown client {args.client}")
    return {"secs": secs, "bytes": n}


def cmd_auth_body(args):
    """Writes the token request body for curl (`-d @FILE`); prints Keystone's URL."""
    c = cloud(args)
    with open(args.out, "w") as f:
        json.dump(auth_body(c), f)
    return {"auth_url": c["auth"]["auth_url"]}


def cmd_delete(args):
    conn = sdk(args)
    for i in args.ids:
        conn.image.delete_image(i, ignore_missing=True)
    return {"deleted": len(args.ids)}


def cmd_nova(args):
    """Every image of Nova's /images/detail with a `type` filter, through openstacksdk."""
    started = time.perf_counter()
    n = sum(1 for _ in sdk(args).compute.images(type=args.type))
    return {"secs": time.perf_counter() - started, "items": n}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--clouds", required=True)
    p.add_argument("--cloud", default="local")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("list")
    s.add_argument("--client", required=True)
    s.add_argument("--tag", required=True)
    s = sub.add_parser("page")
    s.add_argument("--tag", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("decode")
    s.add_argument("--client", required=True)
    s.add_argument("--page", required=True)
    s.add_argument("--schema", required=True)
    s.add_argument("--repeat", type=int, default=5)
    s = sub.add_parser("upload")
    s.add_argument("--client", required=True)
    s.add_argument("--file", required=True)
    s.add_argument("--name", required=True)
    s.add_argument("--tag", required=True)
    s = sub.add_parser("download")
    s.add_argument("--client", required=True)
    s.add_argument("--id", required=True)
    s = sub.add_parser("auth-body")
    s.add_argument("--out", required=True)
    s = sub.add_parser("delete")
    s.add_argument("ids", nargs="*")
    s = sub.add_parser("nova")
    s.add_argument("--type", required=True)
    args = p.parse_args()
    os.environ["OS_CLIENT_CONFIG_FILE"] = args.clouds
    run = {
        "list": cmd_list,
        "page": cmd_page,
        "decode": cmd_decode,
        "upload": cmd_upload,
        "download": cmd_download,
        "auth-body": cmd_auth_body,
        "delete": cmd_delete,
        "nova": cmd_nova,
    }[args.cmd]
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
