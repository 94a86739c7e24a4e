//! Links the release `otel-xray` binary with the functions the daemon runs from start through
//! its first deliveries and idle (`startup-order.txt`, written by `scripts/startup-order.sh`)
//! together at the front of its code.
//!
//! Left where the compiler puts them, those 2,200 functions are spread over most of the
//! binary's 12.6 MB of code, and Linux maps code in 64 KB windows around each page a process
//! touches: an idle daemon held 7.4 MB of its code in memory. Together they fill 43 windows
//! (2.7 MB). Nothing else about the binary changes; a name the list has and the binary
//! does not is skipped.
//!
//! Only for `x86_64-unknown-linux-gnu` release builds, whose default linker (rust-lld since
//! Rust 1.90) takes `--symbol-ordering-file`; `OTEL_XRAY_NO_STARTUP_ORDER=1` turns it off for a
//! build with another linker (GNU ld does not know the option).

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=startup-order.txt");
    println!("cargo:rerun-if-env-changed=OTEL_XRAY_NO_STARTUP_ORDER");
    let target = env::var("TARGET").unwrap_or_default();
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    if target != "x86_64-unknown-linux-gnu"
        || !release
        || env::var_os("OTEL_XRAY_NO_STARTUP_ORDER").is_some()
    {
        return;
    }
    let Ok(dir) = env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order = Path::new(&dir).join("startup-order.txt");
    if !order.exists() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=otel-xray=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!("cargo:rustc-link-arg-bin=otel-xray=-Wl,--no-warn-symbol-ordering");
}
