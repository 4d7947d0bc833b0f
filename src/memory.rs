//! The daemon's heap on transparent huge pages, once it is ready.
//!
//! A steady tick touches most of the heap once a minute (about 190 MiB at 10,000 SLOs), and on a
//! virtual machine a 4 KiB page left alone for a minute is slow to touch again: no guest kernel
//! time shows it, so most likely the host's translation of the page has gone cold. On this
//! project's 2-core VMs (`scripts/page-touch.rs`), touching 200 MiB again after a minute idle
//! cost 0.3–5 µs a page on 4 KiB pages and a fifth to a tenth of that on 2 MiB pages, and a
//! steady tick at 10,000 SLOs took 370–400 ms of CPU on huge pages against 610–620 ms without,
//! runs alternated (BENCHMARKS.md, issue 25 round 11).
//!
//! The advice comes after the backfill, not at the start: glibc's own `glibc.malloc.hugetlb=1`
//! from the first allocation cut the tick alike but made a restart slower (1.55–2.11 s to ready
//! against 1.29–1.36 s), where the target is 2 s.

/// `MADV_COLLAPSE` (Linux 6.1): not in every libc binding the crate builds against.
#[cfg(target_os = "linux")]
const MADV_COLLAPSE: libc::c_int = 25;

/// Asks the kernel for huge pages under the heap as it stands (`madvise(MADV_HUGEPAGE)` on each
/// `[heap]` mapping): memory faulted in there from now on comes 2 MiB at a time. With `collapse`
/// (once, when the daemon is ready) what is already there is merged into huge pages at once
/// (`MADV_COLLAPSE`): the kernel's background `khugepaged` merged only 50 MiB of 200 in three
/// minutes. The heap grows in mappings the advice does not cover, so the daemon asks again after
/// each tick; asking again is idempotent. Returns the bytes advised (0 where the kernel has no
/// huge pages or refuses).
#[cfg(target_os = "linux")]
pub fn advise_huge_heap(collapse: bool) -> usize {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return 0;
    };
    let mut advised = 0;
    for line in maps.lines().filter(|l| l.ends_with("[heap]")) {
        let Some((start, end)) = line
            .split_once(' ')
            .and_then(|(range, _)| range.split_once('-'))
            .and_then(|(a, b)| {
                Some((
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                ))
            })
        else {
            continue;
        };
        if end <= start {
            continue;
        }
        // SAFETY: MADV_HUGEPAGE changes how the kernel backs this mapping of our own heap, never
        // its contents; the range is one the kernel lists as mapped, page-aligned.
        let r =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        if r == 0 {
            advised += end - start;
            if collapse {
                // SAFETY: as above; collapsing copies the pages' contents into huge pages, the
                // same bytes at the same addresses. A kernel before 6.1 refuses it: no harm.
                unsafe { libc::madvise(start as *mut libc::c_void, end - start, MADV_COLLAPSE) };
            }
        }
    }
    advised
}

/// Other kernels keep their pages.
#[cfg(not(target_os = "linux"))]
pub fn advise_huge_heap(_collapse: bool) -> usize {
    0
}
