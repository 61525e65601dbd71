//! A loopback HTTP server of image sources for the catalog tests: files of a directory as
//! `application/octet-stream`, with Range, If-Range, HEAD, a settable `Last-Modified` and
//! `ETag`, faults on demand (one dropped connection, a short body, Range ignored) and
//! per-path counters of requests and bytes served. The crate's unit tests use the same file.
//!
//! ```ignore
//! let server = SourceServer::start(dir.path()).await;
//! let url = server.url("cirros.img.xz");
//! server.drop_once("cirros.img.xz", 1 << 20);
//! // ... apply a catalog naming `url` ...
//! assert_eq!(server.bytes_served("cirros.img.xz"), size); // read once, resumes included
//! ```

#[allow(dead_code)]
mod server {
    include!("../../src/catalog/test_server.rs");
}
pub use server::SourceServer;
