//! The `sidecar-tuner` command.

fn main() -> std::process::ExitCode {
    sidecar_tuner::cli::main()
}
