//! What `pii-edge package` checks in the Node-API addon before it ships: an x86_64 ELF shared
//! object whose glibc symbol versions the Lambda@Edge runtime has.
//!
//! The glibc versions come from the ELF's version needs (`SHT_GNU_verneed`, the
//! `.gnu.version_r` section the dynamic loader reads, see the System V ABI's "Symbol
//! Versioning" and the LSB's ELF chapter): one `Elf64_Verneed` per needed library, each with
//! `Elf64_Vernaux` entries naming a version (`GLIBC_2.34`). A Rust `cdylib` always has them.

use std::fmt;

/// The newest glibc of the Node.js runtimes Lambda@Edge offers (Amazon Linux 2023: nodejs20.x,
/// nodejs22.x, nodejs24.x).
pub const LAMBDA_GLIBC: (u32, u32) = (2, 34);

const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;

/// Why an addon file is not what Lambda@Edge can load.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElfError {
    /// Not an ELF file.
    NotElf,
    /// Not a 64-bit little-endian x86_64 file.
    NotX86_64 {
        /// The ELF `e_machine`.
        machine: u16,
    },
    /// The section table or version needs are cut or point outside the file.
    Malformed(&'static str),
    /// No section table: the version needs cannot be found.
    NoSections,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf => f.write_str("is not a Linux shared object (ELF); build the node crate with cargo on Linux"),
            ElfError::NotX86_64 { machine } => write!(
                f,
                "is not built for x86_64 (ELF machine 0x{machine:x}); Lambda@Edge runs x86_64 only"
            ),
            ElfError::Malformed(what) => write!(f, "is not a well-formed ELF file ({what})"),
            ElfError::NoSections => f.write_str(
                "has no section table, so its glibc requirement cannot be read; do not strip it with --strip-sections",
            ),
        }
    }
}

impl std::error::Error for ElfError {}

// Field readers at `base + off`: every offset comes from the file, so every sum is checked.

fn u16_at(b: &[u8], base: usize, off: usize) -> Option<u16> {
    let at = base.checked_add(off)?;
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], base: usize, off: usize) -> Option<u32> {
    let at = base.checked_add(off)?;
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], base: usize, off: usize) -> Option<usize> {
    let at = base.checked_add(off)?;
    usize::try_from(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
    .ok()
}

/// A NUL-terminated string at `at`.
fn c_str(b: &[u8], at: usize) -> Option<&str> {
    let rest = b.get(at..)?;
    let end = rest.iter().position(|&c| c == 0)?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// The glibc versions an x86_64 ELF file needs (`(2, 34)` for `GLIBC_2.34`), sorted, without
/// duplicates. Never panics, whatever the bytes.
///
/// ```
/// assert_eq!(edge_fn::elf::glibc_needs(b"#!/bin/sh"), Err(edge_fn::elf::ElfError::NotElf));
/// ```
pub fn glibc_needs(b: &[u8]) -> Result<Vec<(u32, u32)>, ElfError> {
    if b.get(..4) != Some(b"\x7fELF") {
        return Err(ElfError::NotElf);
    }
    let machine = u16_at(b, 0, 18).ok_or(ElfError::NotElf)?;
    if b.get(4) != Some(&2) || b.get(5) != Some(&1) || machine != 0x3e {
        return Err(ElfError::NotX86_64 { machine });
    }
    let cut = ElfError::Malformed("cut short");
    let shoff = u64_at(b, 0, 0x28).ok_or(cut.clone())?;
    let shentsize = usize::from(u16_at(b, 0, 0x3a).ok_or(cut.clone())?);
    let shnum = usize::from(u16_at(b, 0, 0x3c).ok_or(cut.clone())?);
    if shoff == 0 || shnum == 0 {
        return Err(ElfError::NoSections);
    }
    if shentsize < 64 {
        return Err(ElfError::Malformed("section header size"));
    }
    let section = |i: usize| -> Result<(u32, usize, usize, u32, u32), ElfError> {
        let at = i
            .checked_mul(shentsize)
            .and_then(|o| o.checked_add(shoff))
            .ok_or(ElfError::Malformed("section table"))?;
        let field = || ElfError::Malformed("section table");
        Ok((
            u32_at(b, at, 4).ok_or_else(field)?,    // sh_type
            u64_at(b, at, 0x18).ok_or_else(field)?, // sh_offset
            u64_at(b, at, 0x20).ok_or_else(field)?, // sh_size
            u32_at(b, at, 0x28).ok_or_else(field)?, // sh_link
            u32_at(b, at, 0x2c).ok_or_else(field)?, // sh_info
        ))
    };
    let mut found = Vec::new();
    for i in 0..shnum {
        let (kind, offset, size, link, count) = section(i)?;
        if kind != SHT_GNU_VERNEED {
            continue;
        }
        let end = offset
            .checked_add(size)
            .filter(|&e| e <= b.len())
            .ok_or(ElfError::Malformed("version needs"))?;
        let needs = &b[offset..end];
        let (_, strtab, strsize, _, _) = section(link as usize)?;
        let strings = strtab
            .checked_add(strsize)
            .filter(|&e| e <= b.len())
            .map(|e| &b[strtab..e])
            .ok_or(ElfError::Malformed("string table"))?;
        let bad = || ElfError::Malformed("version needs");
        let mut at = 0usize;
        // Each entry and each of its auxiliaries is visited once; the counts bound the walk.
        for _ in 0..count {
            let cnt = u16_at(needs, at, 2).ok_or_else(bad)?;
            let aux = u32_at(needs, at, 8).ok_or_else(bad)? as usize;
            let next = u32_at(needs, at, 12).ok_or_else(bad)? as usize;
            let mut a = at.checked_add(aux).ok_or_else(bad)?;
            for _ in 0..cnt {
                let name = u32_at(needs, a, 8).ok_or_else(bad)? as usize;
                let name = c_str(strings, name).ok_or(ElfError::Malformed("version name"))?;
                if let Some(version) = name.strip_prefix("GLIBC_") {
                    let mut parts = version.split('.').map(str::parse::<u32>);
                    if let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) {
                        found.push((major, minor));
                    } else if let Some(Ok(major)) = version.split('.').next().map(str::parse) {
                        found.push((major, 0));
                    }
                }
                let step = u32_at(needs, a, 12).ok_or_else(bad)? as usize;
                if step == 0 {
                    break;
                }
                a = a.checked_add(step).ok_or_else(bad)?;
            }
            if next == 0 {
                break;
            }
            at = at.checked_add(next).ok_or_else(bad)?;
        }
    }
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// A minimal x86_64 ELF shared object whose version needs name `versions` of `libc.so.6`
/// (for tests of the packaging checks; it loads nowhere).
///
/// ```
/// let elf = edge_fn::elf::fake_shared_object(&["GLIBC_2.2.5", "GLIBC_2.34"]);
/// assert_eq!(edge_fn::elf::glibc_needs(&elf), Ok(vec![(2, 2), (2, 34)]));
/// ```
pub fn fake_shared_object(versions: &[&str]) -> Vec<u8> {
    let mut strings = b"\0libc.so.6\0".to_vec();
    let mut names = Vec::new();
    for v in versions {
        names.push(strings.len() as u32);
        strings.extend_from_slice(v.as_bytes());
        strings.push(0);
    }
    let mut needs = Vec::new();
    needs.extend_from_slice(&1u16.to_le_bytes()); // vn_version
    needs.extend_from_slice(&(versions.len() as u16).to_le_bytes()); // vn_cnt
    needs.extend_from_slice(&1u32.to_le_bytes()); // vn_file: "libc.so.6"
    needs.extend_from_slice(&16u32.to_le_bytes()); // vn_aux
    needs.extend_from_slice(&0u32.to_le_bytes()); // vn_next
    for (i, name) in names.iter().enumerate() {
        needs.extend_from_slice(&0u32.to_le_bytes()); // vna_hash
        needs.extend_from_slice(&0u16.to_le_bytes()); // vna_flags
        needs.extend_from_slice(&(i as u16 + 2).to_le_bytes()); // vna_other
        needs.extend_from_slice(&name.to_le_bytes()); // vna_name
        let next: u32 = if i + 1 < names.len() { 16 } else { 0 };
        needs.extend_from_slice(&next.to_le_bytes()); // vna_next
    }
    let strtab_off = 64usize;
    let needs_off = strtab_off + strings.len();
    let shoff = needs_off + needs.len();
    let mut out = vec![0u8; 64];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // 64-bit
    out[5] = 1; // little endian
    out[6] = 1; // version
    out[16] = 3; // ET_DYN
    out[18] = 0x3e; // x86_64
    out[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
    out[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    out[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
    out.extend_from_slice(&strings);
    out.extend_from_slice(&needs);
    let header = |kind: u32, offset: usize, size: usize, link: u32, info: u32| {
        let mut h = vec![0u8; 64];
        h[4..8].copy_from_slice(&kind.to_le_bytes());
        h[0x18..0x20].copy_from_slice(&(offset as u64).to_le_bytes());
        h[0x20..0x28].copy_from_slice(&(size as u64).to_le_bytes());
        h[0x28..0x2c].copy_from_slice(&link.to_le_bytes());
        h[0x2c..0x30].copy_from_slice(&info.to_le_bytes());
        h
    };
    out.extend(header(0, 0, 0, 0, 0));
    out.extend(header(3, strtab_off, strings.len(), 0, 0)); // SHT_STRTAB
    out.extend(header(SHT_GNU_VERNEED, needs_off, needs.len(), 1, 1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_needs() {
        let elf = fake_shared_object(&["GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.3", "GLIBC_PRIVATE"]);
        assert_eq!(glibc_needs(&elf), Ok(vec![(2, 2), (2, 3), (2, 34)]));
        let newer = fake_shared_object(&["GLIBC_2.39"]);
        assert_eq!(glibc_needs(&newer), Ok(vec![(2, 39)]));
    }

    #[test]
    fn reads_a_real_binary() {
        // Debian's coreutils `true`: dynamically linked against glibc, so it has version needs.
        let Ok(bytes) = std::fs::read("/bin/true") else {
            return;
        };
        let needs = glibc_needs(&bytes).expect("readable");
        assert!(needs.iter().all(|&(major, _)| major == 2), "{needs:?}");
        assert!(!needs.is_empty(), "glibc versions of /bin/true");
    }

    #[test]
    fn fuzz_regressions_do_not_panic() {
        // Inputs the `addon_elf` fuzz target found (fuzz/regressions/addon_elf/): a section
        // table at an offset whose field sums overflowed.
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/addon_elf");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("regressions") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
            let _ = glibc_needs(&bytes);
            seen += 1;
        }
        assert!(seen > 0);
    }

    #[test]
    fn refuses_what_it_cannot_read_without_panicking() {
        let elf = fake_shared_object(&["GLIBC_2.17"]);
        for len in 0..elf.len() {
            let _ = glibc_needs(&elf[..len]);
        }
        let mut arm = elf.clone();
        arm[18] = 0xb7;
        assert_eq!(
            glibc_needs(&arm),
            Err(ElfError::NotX86_64 { machine: 0xb7 })
        );
        let mut no_sections = elf.clone();
        no_sections[0x3c] = 0;
        assert_eq!(glibc_needs(&no_sections), Err(ElfError::NoSections));
        // Every single-byte corruption: an answer, never a panic.
        for i in 0..elf.len() {
            let mut bad = elf.clone();
            bad[i] ^= 0xff;
            let _ = glibc_needs(&bad);
        }
    }
}
