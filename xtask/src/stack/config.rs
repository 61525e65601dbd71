//! Configuration files of the services (two Glances) and the clouds.yaml for clients.

use super::{
    ADMIN_PASSWORD, ADMIN_PROJECT, ADMIN_USER, APPCRED_SECRET, DEMO_PASSWORD, DEMO_PROJECT,
    DEMO_USER, GLANCE_PASSWORD, NOVA_PASSWORD, Paths, REGION, State,
};
use anyhow::{Context, Result};
use std::fs;
use std::path::Path;

/// SQLAlchemy URL of database `db` on the stack's PostgreSQL (Unix socket in `socket_dir`).
pub fn db_url(socket_dir: &Path, db: &str) -> String {
    format!(
        "postgresql+psycopg2://postgres@/{db}?host={}",
        socket_dir.display()
    )
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `[keystone_authtoken]` for a service user of the `service` project.
fn authtoken(ks: &str, user: &str, password: &str) -> String {
    format!(
        "[keystone_authtoken]
www_authenticate_uri = {ks}
auth_url = {ks}
auth_type = password
username = {user}
password = {password}
project_name = service
user_domain_id = default
project_domain_id = default
region_name = {REGION}
"
    )
}

/// Writes keystone.conf, glance-api.conf (+ paste ini and schema-image.json) for both
/// Glances and nova.conf (+ api-paste.ini). Every release from 2024.1 on reads the same
/// options (options a release does not know are ignored by oslo.config); the files that
/// differ (paste ini, metadefs) are copied from the release's own venv.
pub fn write_all(p: &Paths, state: &State, socket_dir: &Path) -> Result<()> {
    let venv = &state.venv;
    let ks_url = state.keystone_url();
    let gl_url = state.glance_url();
    let ks = &p.keystone;
    write(
        &ks.join("etc/keystone.conf"),
        &format!(
            "[DEFAULT]
log_file = {log}
[database]
connection = {db}
[token]
provider = fernet
[fernet_tokens]
key_repository = {dir}/fernet-keys
[fernet_receipts]
key_repository = {dir}/fernet-keys
[credential]
key_repository = {dir}/credential-keys
[identity]
password_hash_rounds = 4
",
            log = ks.join("keystone.log").display(),
            db = db_url(socket_dir, "keystone"),
            dir = ks.display(),
        ),
    )?;

    // `web` is the read-only http store: the locations API refuses `file://` URLs, so an
    // http URL served on 127.0.0.1 (allowed by `[import_filtering_opts]`) is what it can add.
    let gl = &p.glance;
    glance_common_files(venv, gl)?;
    glance_common_files(venv, &p.glance_plain)?;
    write(
        &gl.join("etc/glance-api.conf"),
        &format!(
            "[DEFAULT]
log_file = {dir}/glance-api.log
enabled_backends = fs:file, fs2:file, web:http
worker_self_reference_url = {gl_url}
image_cache_dir = {dir}/cache
enabled_import_methods = [glance-direct,web-download,copy-image]
[database]
connection = {db}
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = {dir}/images
[fs2]
filesystem_store_datadir = {dir}/images2
[import_filtering_opts]
allowed_hosts = [127.0.0.1]
allowed_ports = []
[os_glance_staging_store]
filesystem_store_datadir = {dir}/staging
[os_glance_tasks_store]
filesystem_store_datadir = {dir}/tasks
[paste_deploy]
flavor = keystone
config_file = {dir}/etc/glance-api-paste.ini
{auth}[oslo_concurrency]
lock_path = {dir}/locks
[taskflow_executor]
engine_mode = serial
",
            dir = gl.display(),
            db = db_url(socket_dir, "glance"),
            auth = authtoken(&ks_url, "glance", GLANCE_PASSWORD),
        ),
    )?;

    // The second Glance: one store (no `enabled_backends`, so no 2.8-2.13 and no
    // /v2/info/stores), no `image_cache_dir` (no 2.14/2.16/2.18, no /v2/cache), and
    // `hashing_algorithm = sha256` (Glance's default is sha512): a cloud whose `os_hash_algo`
    // differs from the other's, for copies verified in the target's own algorithm.
    let plain = &p.glance_plain;
    write(
        &plain.join("etc/glance-api.conf"),
        &format!(
            "[DEFAULT]
log_file = {dir}/glance-api.log
hashing_algorithm = sha256
worker_self_reference_url = {url}
node_staging_uri = file://{dir}/staging
enabled_import_methods = [glance-direct,web-download]
[import_filtering_opts]
allowed_hosts = [127.0.0.1]
allowed_ports = []
[database]
connection = {db}
[glance_store]
stores = file
default_store = file
filesystem_store_datadir = {dir}/images
[paste_deploy]
flavor = keystone
config_file = {dir}/etc/glance-api-paste.ini
{auth}[oslo_concurrency]
lock_path = {dir}/locks
[taskflow_executor]
engine_mode = serial
",
            dir = plain.display(),
            url = state.url(super::Svc::GlancePlain),
            db = db_url(socket_dir, "glance_plain"),
            auth = authtoken(&ks_url, "glance", GLANCE_PASSWORD),
        ),
    )?;

    let nv = &p.nova;
    fs::copy(
        venv.join("etc/nova/api-paste.ini"),
        nv.join("etc/api-paste.ini"),
    )
    .context("copying the venv's etc/nova/api-paste.ini")?;
    write(
        &nv.join("etc/nova.conf"),
        &format!(
            "[DEFAULT]
log_file = {dir}/nova-api.log
transport_url = fake://
host = localnova
state_path = {dir}/state
[api_database]
connection = {api_db}
[database]
connection = {db}
[oslo_concurrency]
lock_path = {dir}/locks
{auth}[glance]
endpoint_override = {gl_url}
num_retries = 0
[wsgi]
api_paste_config = {dir}/etc/api-paste.ini
[oslo_messaging_notifications]
driver = noop
",
            dir = nv.display(),
            api_db = db_url(socket_dir, "nova_api"),
            db = db_url(socket_dir, "nova"),
            auth = authtoken(&ks_url, "nova", NOVA_PASSWORD),
        ),
    )
}

/// The paste ini and schema-image.json a Glance's config dir `gl` needs.
fn glance_common_files(venv: &Path, gl: &Path) -> Result<()> {
    let paste = fs::read_to_string(venv.join("etc/glance/glance-api-paste.ini"))
        .context("reading the venv's etc/glance/glance-api-paste.ini")?;
    let paste = paste.replace(
        "/etc/glance/healthcheck_disable",
        &gl.join("healthcheck_disable").to_string_lossy(),
    );
    write(&gl.join("etc/glance-api-paste.ini"), &paste)?;
    fs::copy(
        crate::workspace_root().join("xtask/stack/schema-image.json"),
        gl.join("etc/schema-image.json"),
    )
    .context("copying schema-image.json")?;
    Ok(())
}

/// Writes clouds.yaml with the clouds `local` (admin), `local-demo` (member of `demo`),
/// `local-appcred` (application credential of admin), `local-service` (the glance service
/// user: role `service`, what Glance's locations API asks for) and `local-plain` (admin,
/// on the second Glance: one store, no cache).
pub fn write_clouds_yaml(path: &Path, state: &State, appcred_id: &str) -> Result<()> {
    let ks = state.keystone_url();
    let common = format!(
        "    region_name: {REGION}
    interface: public
    identity_api_version: 3
"
    );
    let password_cloud = |name: &str, user: &str, password: &str, project: &str| {
        format!(
            "  {name}:
    auth_type: password
    auth:
      auth_url: {ks}
      username: {user}
      password: {password}
      project_name: {project}
      user_domain_name: Default
      project_domain_name: Default
{common}"
        )
    };
    write(
        path,
        &format!(
            "# Written by `cargo xtask stack up`: the local OpenStack on 127.0.0.1.
clouds:
{}{}{}  local-plain:
    auth_type: password
    auth:
      auth_url: {ks}
      username: {ADMIN_USER}
      password: {ADMIN_PASSWORD}
      project_name: {ADMIN_PROJECT}
      user_domain_name: Default
      project_domain_name: Default
    image_endpoint_override: {plain}
{common}  local-appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: {ks}
      application_credential_id: {appcred_id}
      application_credential_secret: {APPCRED_SECRET}
{common}",
            password_cloud("local", ADMIN_USER, ADMIN_PASSWORD, ADMIN_PROJECT),
            password_cloud("local-demo", DEMO_USER, DEMO_PASSWORD, DEMO_PROJECT),
            password_cloud("local-service", "glance", GLANCE_PASSWORD, "service"),
            plain = state.url(super::Svc::GlancePlain),
        ),
    )
}
