//! The `slowburn` binary: parse the command line, set up logging, hand over to the library.

use clap::Parser;
use std::io::IsTerminal;

/// mimalloc instead of the system's malloc: glibc's was two fifths of a steady tick's profile at
/// 10,000 SLOs, most of it sorting its free lists (a tick allocates about 435,000 blocks and frees
/// them all); with mimalloc, tuned as [`tune_allocator`] says, the same tick took about a
/// quarter less CPU (BENCHMARKS.md, issue 25).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tune_allocator();
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

/// mimalloc's option numbers (its v3 `mi_option_e`, the version the crate builds by default; the
/// test below checks them against v3's defaults).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// Hands freed memory back at once and keeps transparent huge pages off. mimalloc keeps freed
/// pages resident for a second by default, and a tick frees what its answers were decoded into
/// all at once: 269-282 MiB steady at 10,000 SLOs against 220 MiB purged at once. With huge
/// pages every thread that touches its heap takes 2 MiB: 1,000 concurrent history requests
/// peaked at 510 MiB against 169 MiB without (`tests/it/load.rs`), and 10,000 SLOs sat at
/// 196-201 MiB against glibc's 222-227 (BENCHMARKS.md, issue 25). `MIMALLOC_PURGE_DELAY` and
/// `MIMALLOC_ALLOW_THP` in the environment still win, for whoever tunes them.
fn tune_allocator() {
    for (var, option) in [
        ("MIMALLOC_PURGE_DELAY", MI_OPTION_PURGE_DELAY),
        ("MIMALLOC_ALLOW_THP", MI_OPTION_ALLOW_THP),
    ] {
        if std::env::var_os(var).is_none() {
            // SAFETY: mi_option_set only stores an option's value, and this runs first in
            // `main`, before any other thread of this process exists (it is not thread safe).
            unsafe { libmimalloc_sys::mi_option_set(option, 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option numbers name the options meant: v3's defaults are a 1,000 ms purge delay and
    /// huge pages allowed (v2 numbers `allow_thp` 37, where v3 has another option).
    #[test]
    fn mimalloc_option_numbers_are_v3s() {
        // SAFETY: reads of option values.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 1000);
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_ALLOW_THP), 1);
        }
    }
}
