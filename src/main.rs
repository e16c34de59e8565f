//! `switchboard`: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use switchboard::cli::{self, Cli};
use switchboard::config::Config;

// A call's setup allocates and frees thousands of small buffers across the runtime's threads
// (JSON, HTTP, SQL rows); mimalloc's per-thread pages cost less per call than glibc's arenas
// (measured with `cargo bench --bench ari`, README "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Read once: it sizes the runtime, and the commands that need it get it.
    let config = Config::load(cli.config.as_deref());
    let result = match cli::runtime(config.as_ref().ok()) {
        Ok(runtime) => runtime.block_on(cli::run(cli, config)),
        Err(e) => Err(anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One readable line with the whole cause chain, never a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
