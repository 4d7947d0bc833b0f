//! What touching memory again costs after it sat idle, on 4 KiB pages and on transparent huge
//! pages (BENCHMARKS.md, issue 25 round 11): the measurement behind the daemon's huge pages.
//!
//! `rustc -O scripts/page-touch.rs -o /tmp/page-touch && /tmp/page-touch 200 60 small`, then
//! `... huge` (MiB, seconds idle between rounds, page kind). Each round writes one byte of every
//! 4 KiB of the buffer and prints how long that took.

use std::time::{Duration, Instant};

unsafe extern "C" {
    fn madvise(addr: *mut u8, len: usize, advice: i32) -> i32;
}

/// `MADV_HUGEPAGE` on Linux.
const MADV_HUGEPAGE: i32 = 14;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mib), Some(idle), Some(kind)) = (
        args.get(1).and_then(|a| a.parse::<usize>().ok()),
        args.get(2).and_then(|a| a.parse::<u64>().ok()),
        args.get(3),
    ) else {
        eprintln!("usage: page-touch MIB IDLE_SECONDS small|huge");
        std::process::exit(2);
    };
    let len = mib << 20;
    let Ok(layout) = std::alloc::Layout::from_size_align(len, 2 << 20) else {
        std::process::exit(2);
    };
    // SAFETY: a fresh allocation of `len` bytes, used only as the byte slice below.
    let buf = unsafe {
        let p = std::alloc::alloc_zeroed(layout);
        if p.is_null() {
            std::process::exit(1);
        }
        if kind == "huge" && madvise(p, len, MADV_HUGEPAGE) != 0 {
            eprintln!("madvise(MADV_HUGEPAGE) failed");
        }
        std::slice::from_raw_parts_mut(p, len)
    };
    for round in 0..4 {
        let t = Instant::now();
        for i in (0..len).step_by(4096) {
            buf[i] = buf[i].wrapping_add(1);
        }
        let took = t.elapsed();
        println!(
            "round {round}: {} pages of 4 KiB touched in {took:?} ({:.2} µs a page)",
            len / 4096,
            took.as_secs_f64() * 1e6 / (len / 4096) as f64
        );
        std::thread::sleep(Duration::from_secs(idle));
    }
}
