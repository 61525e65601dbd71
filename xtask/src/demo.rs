//! `cargo xtask demo`: a narrated tour of the client against the local stack, mostly through
//! the `osimg` command-line client run as a subprocess, with a summary of timings.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use openstack_images::{Client, ImageCreate, ServiceType};
use sha2::{Digest, Sha256};

/// Size of the generated image data.
const DATA_MIB: usize = 32;

struct Tour {
    osimg: PathBuf,
    clouds_yaml: PathBuf,
    steps: Vec<(String, f64)>,
    /// Images made so far, deleted at the end even when a step fails.
    created: Vec<String>,
}

impl Tour {
    fn say(&self, text: &str) {
        println!("\n== {text}");
    }

    fn done(&mut self, what: &str, started: Instant) {
        let secs = started.elapsed().as_secs_f64();
        println!("   ({:.0} ms)", secs * 1000.0);
        self.steps.push((what.to_owned(), secs));
    }

    /// Runs `osimg` with its arguments, printing the command line and then its output;
    /// progress bars go straight to the terminal. Returns stdout; fails unless the exit
    /// status is `expect`.
    fn osimg_expect(&self, expect: i32, args: &[&str]) -> Result<String> {
        let shown: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
        println!("$ osimg {}", shown.join(" "));
        std::io::stdout().flush()?;
        let out = Command::new(&self.osimg)
            .args(args)
            .env("OS_CLIENT_CONFIG_FILE", &self.clouds_yaml)
            .env("OS_CLOUD", "local")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .context("running osimg")?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        print!("{stdout}");
        let code = out.status.code().unwrap_or(-1);
        if code != expect {
            bail!(
                "osimg {} exited with {code}, expected {expect}",
                shown.join(" ")
            );
        }
        if expect != 0 {
            println!("   (exit status {code}, as expected)");
        }
        Ok(stdout)
    }

    fn osimg(&self, args: &[&str]) -> Result<String> {
        self.osimg_expect(0, args)
    }

    /// The id of the image `osimg` just created, read back with `-f value`.
    fn id_of(&self, name: &str) -> Result<String> {
        Ok(self
            .osimg(&["image", "show", name, "-c", "id", "-f", "value"])?
            .trim()
            .to_owned())
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Runs the tour; the stack is brought up first (installed on first use) and left running.
pub fn run() -> Result<()> {
    crate::test::openssl_present()?;
    let info = crate::stack::up(crate::stack::Release::newest())?;
    // SAFETY of set_var: single-threaded at this point, before the runtime starts.
    unsafe { std::env::set_var("OS_CLIENT_CONFIG_FILE", &info.clouds_yaml) };
    let root = crate::workspace_root();

    // Optimised, so that the timings below show the client's real speed (a debug build
    // verifies a 32 MiB download several times slower).
    println!("== Build the command-line client (release, once: about a minute)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    println!("$ cargo build --release -p openstack-images --features cli --bin osimg");
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            "openstack-images",
            "--features",
            "cli",
            "--bin",
            "osimg",
        ])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building osimg failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let mut tour = Tour {
        osimg: target.join("release").join("osimg"),
        clouds_yaml: info.clouds_yaml.clone(),
        steps: Vec::new(),
        created: Vec::new(),
    };
    let demo_dir = target.join("demo");
    let total = Instant::now();
    let result = tokio::runtime::Runtime::new()?.block_on(tour_steps(&mut tour, &demo_dir));
    if result.is_err() && !tour.created.is_empty() {
        eprintln!("\n== The tour failed: deleting the images it made");
        let mut args = vec!["image", "delete"];
        args.extend(tour.created.iter().map(String::as_str));
        let _ = tour.osimg(&args);
    }
    result?;

    println!("\n== Summary");
    for (what, secs) in &tour.steps {
        println!("   {:<44} {:>8.0} ms", what, secs * 1000.0);
    }
    println!(
        "   {:<44} {:>8.0} ms",
        "total",
        total.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

/// Writes `mib` MiB of pseudo-random data (xorshift, so it does not compress away) and
/// returns its sha256.
fn write_data(path: &Path, mib: usize) -> Result<String> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for word in chunk.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes()[..word.len()]);
        }
        hasher.update(&chunk);
        file.write_all(&chunk)?;
    }
    file.flush()?;
    Ok(hex(&hasher.finalize()))
}

fn sha256_of(path: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn tour_steps(t: &mut Tour, demo_dir: &Path) -> Result<()> {
    t.say("Library: authenticate with cloud `local` from the stack's clouds.yaml");
    let s = Instant::now();
    let admin = Client::from_cloud("local")?;
    admin.authenticate().await?;
    println!(
        "   project {}",
        admin.project_id().await?.unwrap_or_default()
    );
    println!(
        "   image endpoint {}   compute endpoint {}",
        admin.endpoint(ServiceType::Image).await?,
        admin.endpoint(ServiceType::Compute).await?
    );
    match admin
        .images()
        .create(ImageCreate::new("x").disk_format("floppy"))
        .await
    {
        Err(e) => println!("   bad input is refused before any request: {e}"),
        Ok(img) => bail!("the server accepted an invalid image {}", img.id),
    }
    let demo_project = admin.find_project("demo", None).await?;
    println!(
        "   project `demo` is {} (Client::find_project: a name or an id, through Keystone)",
        demo_project.id
    );
    t.done("library: authenticate + endpoints", s);

    t.say(&format!(
        "Generate {DATA_MIB} MiB of image data under {}",
        demo_dir.display()
    ));
    let s = Instant::now();
    std::fs::create_dir_all(demo_dir)?;
    let tag = format!("demo-{}-{:04x}", std::process::id(), rand16());
    let data = demo_dir.join(format!("{tag}.raw"));
    let sha = write_data(&data, DATA_MIB)?;
    println!("   {} sha256 {sha}", data.display());
    t.done("generate data", s);
    let data_path = data.to_string_lossy().into_owned();

    t.say("Create an image with properties and tags, and upload the data (progress bar)");
    let s = Instant::now();
    let name = format!("{tag}-cirros");
    let cols = ["-c", "id", "-c", "name", "-c", "status", "-c", "size"];
    let mut args = vec![
        "image",
        "create",
        &name,
        "--file",
        &data_path,
        "--disk-format",
        "raw",
        "--shared",
        "--min-ram",
        "256",
        "--property",
        "os_distro=cirros",
        "--property",
        "owner_team=images",
        "--tag",
        &tag,
        "--tag",
        "demo",
    ];
    args.extend(cols);
    let out = t.osimg(&args)?;
    let id = match id_in_table(&out) {
        Some(id) => id,
        None => t.id_of(&name)?,
    };
    t.created.push(id.clone());
    t.done(&format!("create + upload {DATA_MIB} MiB"), s);

    t.say("Create a second image, without data");
    let s = Instant::now();
    let name2 = format!("{tag}-debian");
    let out = t.osimg(&[
        "image",
        "create",
        &name2,
        "--property",
        "os_distro=debian",
        "--tag",
        &tag,
        "-c",
        "id",
        "-c",
        "status",
    ])?;
    let id2 = match id_in_table(&out) {
        Some(id) => id,
        None => t.id_of(&name2)?,
    };
    t.created.push(id2.clone());
    t.done("create (no data)", s);

    t.say("List with filters: by tag, sorted by name; then by property, with more columns");
    let s = Instant::now();
    t.osimg(&["image", "list", "--tag", &tag, "--sort", "name:asc"])?;
    t.osimg(&[
        "image",
        "list",
        "--tag",
        &tag,
        "--property",
        "os_distro=cirros",
        "--long",
        "-c",
        "ID",
        "-c",
        "Name",
        "-c",
        "Size",
        "-c",
        "Tags",
    ])?;
    t.done("list with filters", s);

    t.say("Update: rename, set a property, add a tag; then unset a property and a tag");
    let s = Instant::now();
    let renamed = format!("{name}-renamed");
    t.osimg(&[
        "image",
        "set",
        &id,
        "--name",
        &renamed,
        "--property",
        "os_version=0.6",
        "--tag",
        "renamed",
    ])?;
    t.osimg(&[
        "image",
        "unset",
        &id,
        "--property",
        "owner_team",
        "--tag",
        "demo",
    ])?;
    t.osimg(&[
        "image",
        "show",
        &id,
        "--human-readable",
        "-c",
        "name",
        "-c",
        "properties",
        "-c",
        "size",
        "-c",
        "tags",
    ])?;
    t.done("set + unset", s);

    t.say("Share with project `demo` (by name, resolved through Keystone), accept as its member (cloud `local-demo`)");
    let s = Instant::now();
    t.osimg(&["image", "add", "project", &id, "demo"])?;
    t.osimg(&["--os-cloud", "local-demo", "image", "set", &id, "--accept"])?;
    t.osimg(&["image", "member", "list", &id])?;
    t.osimg(&["--os-cloud", "local-demo", "image", "list", "--tag", &tag])?;
    t.done("share + accept", s);

    t.say("Download the data (verified against Glance's checksum) and compare sha256");
    let s = Instant::now();
    let saved = demo_dir.join(format!("{tag}-saved.raw"));
    let saved_path = saved.to_string_lossy().into_owned();
    t.osimg(&["image", "save", &renamed, "--file", &saved_path])?;
    let saved_sha = sha256_of(&saved)?;
    println!("   original   sha256 {sha}");
    println!("   downloaded sha256 {saved_sha}");
    if saved_sha != sha {
        bail!("the downloaded data differs from what was uploaded");
    }
    println!("   identical");
    t.done(&format!("save {DATA_MIB} MiB + verify"), s);

    t.say("The same image through the Compute API");
    let s = Instant::now();
    t.osimg(&["compute-image", "list", "--name", &renamed, "--long"])?;
    t.done("compute-image list", s);

    t.say("Errors: one line on stderr and an exit status that says what went wrong");
    let s = Instant::now();
    t.osimg_expect(3, &["image", "show", &format!("{tag}-no-such-image")])?;
    t.done("not found (exit 3)", s);

    t.say("Clean up");
    let s = Instant::now();
    t.osimg(&["image", "delete", &id, &id2])?;
    t.created.clear();
    std::fs::remove_file(&data)?;
    std::fs::remove_file(&saved)?;
    t.done("delete", s);
    Ok(())
}

/// The Value of the `id` row of a Field/Value table.
fn id_in_table(table: &str) -> Option<String> {
    table.lines().find_map(|l| {
        let cells: Vec<&str> = l.split('|').map(str::trim).collect();
        (cells.len() == 4 && cells[1] == "id").then(|| cells[2].to_owned())
    })
}

/// A little randomness for unique names, without another dependency.
fn rand16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos ^ (nanos >> 16)) as u16
}
