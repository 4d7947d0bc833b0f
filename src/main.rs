//! The `slowburn` binary: parse the command line, set up logging, hand over to the library.

use clap::Parser;
use std::io::IsTerminal;

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    let cli = slowburn::cli::Cli::parse();
    // The daemon logs its progress; one-shot commands only warnings, on stderr like the daemon.
    let default = match cli.command {
        slowburn::cli::Command::Run { .. } => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLOWBURN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let json = match cli.log_format {
        slowburn::cli::LogFormat::Json => true,
        slowburn::cli::LogFormat::Text => false,
        slowburn::cli::LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(slowburn::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.is::<slowburn::cli::GateBlocked>() => std::process::ExitCode::FAILURE,
        Err(e) if e.is::<slowburn::cli::GateError>() => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// glibc's malloc gives threads that allocate at once arenas of their own, up to eight per core,
/// and hands little of a freed arena back: the tick's answers are decoded on tokio's workers, the
/// store is written on blocking threads, and each left its own high-water mark resident. Two
/// arenas measured 228–246 MiB steady at 10,000 SLOs against 288–293 MiB with glibc's default
/// (BENCHMARKS.md, issue 25), with tick CPU within this machine's noise. `MALLOC_ARENA_MAX` in
/// the environment still wins, for whoever tunes it. (mimalloc instead cut a tick's CPU by a
/// quarter but let 1,000 concurrent history requests peak at 361 MiB: BENCHMARKS.md round 9.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a parameter of the allocator, and this runs first in `main`,
        // before any other thread of this process exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Other allocators keep their own defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
