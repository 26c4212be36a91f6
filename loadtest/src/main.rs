//! huddle-loadtest: the load generator for the hub (scenarios arrive with the loadtest issue).

fn main() {
    eprintln!("huddle-loadtest: no scenarios yet; see loadtest/README.md");
    std::process::exit(2);
}
