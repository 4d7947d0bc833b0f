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

/// One malloc arena for the whole process. glibc gives threads that allocate at once arenas of
/// their own, up to eight per core, and hands little of a freed arena back: the tick's answers
/// are decoded on tokio's workers and the store is written on blocking threads, and each arena
/// kept its own high-water mark resident (288–293 MiB steady at 10,000 SLOs with glibc's
/// default, 228–246 MiB with two arenas). One arena also keeps all of the heap in the `[heap]`
/// mapping, where the daemon asks for huge pages (`slowburn::memory`): at 10,000 SLOs a steady
/// tick took 410–460 ms of CPU with one arena against 530–700 ms with two, and 280–400 ms with
/// huge pages as well, runs alternated in one hour (BENCHMARKS.md, issue 25 round 11).
/// `MALLOC_ARENA_MAX` in the environment still wins, for whoever tunes it. (mimalloc cut a tick's
/// CPU too, but let 1,000 concurrent history requests peak at 361 MiB: round 9.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a parameter of the allocator, and this runs first in `main`,
        // before any other thread of this process exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Other allocators keep their own defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
