//! The `slowburn` binary: parse the command line, set up logging, hand over to the library.

use clap::Parser;
use std::io::IsTerminal;

fn main() -> std::process::ExitCode {
    huge_pages();
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

/// Backs the heap with transparent huge pages, through glibc's own `glibc.malloc.hugetlb=1`.
///
/// A tick touches most of the daemon's heap once a minute (about 190 MiB at 10,000 SLOs), and on
/// a virtual machine a 4 KiB page left alone for a minute is slow to touch again (no guest kernel
/// time shows it: most likely the host's translation of the page has gone cold). Measured on this
/// project's 2-core VMs (`scripts/page-touch.rs`), touching 200 MiB again after a minute idle
/// cost 0.3–5 µs a page on 4 KiB pages and a fifth to a tenth of that on 2 MiB pages; with one
/// arena ([`limit_malloc_arenas`]), a steady tick at 10,000 SLOs took 280–350 ms of CPU against
/// 410–460 ms on small pages (BENCHMARKS.md, issue 25 round 11). glibc reads its tunables only
/// when a program starts, so the process starts itself once more, same PID and arguments, with
/// the tunable set. Whoever sets `GLIBC_TUNABLES` (even empty) keeps theirs, and no second start
/// happens.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn huge_pages() {
    use std::os::unix::process::CommandExt;
    const VAR: &str = "GLIBC_TUNABLES";
    // A set-user-ID start has its tunables dropped by glibc, so it would start itself for ever.
    // SAFETY: getauxval only reads the auxiliary vector the kernel handed this process.
    let secure = unsafe { libc::getauxval(libc::AT_SECURE) } != 0;
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|mode| !mode.contains("[never]"));
    if secure || !thp || std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        cmd.arg0(arg0);
    }
    // `exec` returns only when the new start failed: this one carries on with small pages.
    let error = cmd.args(args).env(VAR, "glibc.malloc.hugetlb=1").exec();
    eprintln!("note: starting again with huge pages failed ({error}); going on without them");
}

/// Other allocators keep their own page sizes.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn huge_pages() {}

/// One malloc arena for the whole process. glibc gives threads that allocate at once arenas of
/// their own, up to eight per core, and hands little of a freed arena back: the tick's answers
/// are decoded on tokio's workers and the store is written on blocking threads, and each arena
/// kept its own high-water mark resident (288–293 MiB steady at 10,000 SLOs with glibc's
/// default, 228–246 MiB with two arenas). One arena also keeps the whole heap where
/// [`huge_pages`] reaches, since glibc puts huge pages under its main heap only: at 10,000 SLOs a
/// steady tick took 410–460 ms of CPU with one arena against 530–700 ms with two, and 280–350 ms
/// with huge pages as well, runs alternated in one hour (BENCHMARKS.md, issue 25 round 11).
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
