//! The real `huddle` binary, run as an operator would.

use std::process::Command;

#[test]
fn dev_mode_refuses_a_non_loopback_address_unless_asked() {
    let out = Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args(["serve", "--dev", "--listen", "0.0.0.0:0"])
        .env_remove("HUDDLE_JWT_SECRET")
        .output()
        .expect("run huddle");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--dev-allow-remote"), "{stderr}");
    assert!(out.stdout.is_empty(), "no links printed");
}
