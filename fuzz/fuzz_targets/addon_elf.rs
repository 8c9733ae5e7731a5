//! The addon check of `pii-edge package` (`edge_fn::elf::glibc_needs`) on arbitrary bytes: an
//! operator may point `--addon` at any file (seeds: the system's `/bin/true`, an x86_64 ELF
//! with glibc version needs).
//!
//! Checks: never panics, never loops without end; an answer lists versions sorted and unique.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(versions) = edge_fn::elf::glibc_needs(data) {
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    }
});
