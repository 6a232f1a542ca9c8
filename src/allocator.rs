//! How the program's allocator (mimalloc, set in `main.rs`) gives memory back.
//!
//! By default mimalloc keeps freed pages for a second before returning them to the system, and
//! asks the kernel for transparent huge pages (2 MiB) where the system gives them on request,
//! as Debian's does (`madvise`): a huge page is resident whole as soon as one byte of it is
//! touched. A lint frees a lot at once (the model of the file before the findings are
//! expanded), and what it builds next went into fresh pages while the freed ones were still
//! held: the resident peak on the 200,000-line file was 275 MB where the live data peaks near
//! 230 (the count of `tests/report_memory.rs`). Purging at once and pages of 4 KiB keep the resident memory near the live
//! data, in the same time (DEVELOPERS.md, "Memory").

use std::os::raw::c_long;

/// mimalloc's `mi_option_t` value for `purge_delay`, from the `mimalloc.h` of the bundled
/// mimalloc 3 (`libmimalloc-sys` does not declare it by name); the test checks that it still
/// names that option, by its default.
const PURGE_DELAY: i32 = 15;

/// Freed memory goes back to the system at once, and the process's pages are never huge.
/// Call it first thing in `main`, before any thread starts (mimalloc's option setters are not
/// thread safe). mimalloc reads its `MIMALLOC_ALLOW_THP=0` before `main`, when it has already
/// reserved its first arena, so the huge pages are turned off here as it would: for the whole
/// process, which every later page fault follows.
pub fn give_memory_back() {
    // SAFETY: a plain setter of a global option, called before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0 as c_long) };
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with integer arguments only; a kernel without it answers an error, which
    // leaves the huge pages as they were.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1 as libc::c_ulong, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_goes_back_at_once_in_small_pages() {
        let purge_delay = || unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        // The bundled mimalloc's default first (1,000 ms, its `options.c`): a renumbered enum
        // would read another option here. A MIMALLOC_* variable would change it; none is set in CI.
        if std::env::vars().any(|(k, _)| k.starts_with("MIMALLOC_")) {
            eprintln!("skipped: a MIMALLOC_ variable is set, and it changes the defaults");
            return;
        }
        assert_eq!(purge_delay(), 1000);
        give_memory_back();
        assert_eq!(purge_delay(), 0);
        #[cfg(target_os = "linux")]
        assert_eq!(
            unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) },
            1
        );
    }
}
