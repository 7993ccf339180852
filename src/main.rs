//! The `sidecar-tuner` command: a thin front end over the library (`cli`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
