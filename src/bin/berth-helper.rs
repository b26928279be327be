//! berth's helper: builds a container inside the scope berth made for it, and enters running
//! containers. Installed to /usr/libexec/berth/; berth runs it, not people.

fn main() -> std::process::ExitCode {
    berth::helper::main()
}
