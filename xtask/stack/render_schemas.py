"""Glance's /v2/schemas/* rendered without a server (`cargo xtask schema check --upstream`).

Usage: python render_schemas.py CONFIG_DIR, where CONFIG_DIR holds a glance-api.conf (may be
empty) and the schema-image.json the stack serves. Prints one JSON object: schema name
(`image`, `metadefs/tag`, ...) -> schema, built by the same controller that serves
`GET /v2/schemas/<name>` (glance.api.v2.schemas.Controller), with the custom properties that
Glance's router loads (`images.load_custom_properties`).
"""
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")
config_dir = sys.argv[1]
sys.argv = sys.argv[:1]

from glance.api.v2 import images, schemas  # noqa: E402  (registers their options first)
from glance.common import config  # noqa: E402
from oslo_config import cfg  # noqa: E402

config.set_config_defaults()
cfg.CONF(
    [],
    project="glance",
    default_config_files=[os.path.join(config_dir, "glance-api.conf")],
)

controller = schemas.Controller(images.load_custom_properties())
out = {}
for name in [
    "image", "images", "member", "members", "task", "tasks",
    "metadefs/namespace", "metadefs/namespaces", "metadefs/object", "metadefs/objects",
    "metadefs/property", "metadefs/properties", "metadefs/tag", "metadefs/tags",
    "metadefs/resource_type", "metadefs/resource_types",
]:
    out[name] = getattr(controller, name.replace("metadefs/", "metadef_"))(None)
print(json.dumps(out))
