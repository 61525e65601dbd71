"""Complete `keystone-manage bootstrap` for the local stack (`cargo xtask stack up`).

Reads a JSON object from $KEYSTONE_SETUP (keystone_url, glance_url, nova_url, region, admin/demo/service
credentials, app credential name+secret), registers the image and compute services with
public/internal/admin endpoints, the `service` project with the glance and nova users
(admin + service roles), the `demo` project with user `demo` (member role) and an application
credential for admin. Prints {"app_credential_id": ...}. Standard library only.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


def call(url, method="GET", body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
            return resp.headers, (json.loads(text) if text else None)
    except urllib.error.HTTPError as err:
        sys.exit("%s %s: %s %s" % (method, url, err.code, err.read().decode(errors="replace")))


def main():
    cfg = json.loads(os.environ["KEYSTONE_SETUP"])
    ks = cfg["keystone_url"]
    headers, body = call(ks + "/auth/tokens", "POST", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": cfg["admin_user"], "domain": {"id": "default"},
            "password": cfg["admin_password"]}}},
        "scope": {"project": {"name": cfg["admin_project"], "domain": {"id": "default"}}}}})
    token = headers["X-Subject-Token"]
    admin_id = body["token"]["user"]["id"]

    def create(collection, kind, obj):
        return call("%s/%s" % (ks, collection), "POST", {kind: obj}, token)[1][kind]["id"]

    def role(name):
        roles = call("%s/roles?name=%s" % (ks, urllib.parse.quote(name)), token=token)[1]["roles"]
        return roles[0]["id"] if roles else create("roles", "role", {"name": name})

    def grant(project, user, role_id):
        call("%s/projects/%s/users/%s/roles/%s" % (ks, project, user, role_id), "PUT", token=token)

    for kind, name, url in [("image", "glance", cfg["glance_url"]),
                            ("compute", "nova", cfg["nova_url"])]:
        service = create("services", "service", {"type": kind, "name": name})
        for interface in ["public", "internal", "admin"]:
            create("endpoints", "endpoint", {"service_id": service, "interface": interface,
                                             "region_id": cfg["region"], "url": url})

    admin_role, service_role, member_role = role("admin"), role("service"), role("member")
    service_project = create("projects", "project", {"name": "service", "domain_id": "default"})
    demo_project = create("projects", "project",
                          {"name": cfg["demo_project"], "domain_id": "default"})
    for name, password in cfg["service_users"].items():
        user = create("users", "user", {"name": name, "domain_id": "default",
                                         "password": password})
        grant(service_project, user, admin_role)
        grant(service_project, user, service_role)
    demo = create("users", "user", {"name": cfg["demo_user"], "domain_id": "default",
                                     "password": cfg["demo_password"]})
    grant(demo_project, demo, member_role)
    appcred = create("users/%s/application_credentials" % admin_id, "application_credential",
                     {"name": cfg["app_credential_name"],
                      "secret": cfg["app_credential_secret"],
                      "description": "cargo xtask stack: the local-appcred cloud"})
    print(json.dumps({"app_credential_id": appcred}))


if __name__ == "__main__":
    main()
