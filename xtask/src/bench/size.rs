//! `cargo xtask bench size [--no-build]`: what the app's wasm is made of,
//! by crate, compressed (issue 13, item 5: the budget before the first
//! tile).
//!
//! trunk's release build leaves the linked, unoptimised module with its
//! function names in `target/wasm32-unknown-unknown/release/plugboard.wasm`.
//! That module goes through wasm-bindgen and `wasm-opt -Oz` as trunk runs
//! them, but keeping the names (`--keep-debug`, `-g`); each function body is then put in a group by the
//! crates its (demangled) name mentions — ours first, so
//! `core::ptr::drop_in_place<devices::Device>` counts as `devices`, then
//! any other named crate before the standard library, so a Leptos view's
//! monomorphised `tachys::…` code counts as Leptos. Each group's bodies
//! are compressed with `gzip -9` on their own; the figures are scaled so
//! they add up to the whole code section compressed at once (compressing
//! apart costs a few per cent). Data and the other sections are listed
//! beside. The result: `target/bench/size.md` and `size.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{ExitCode, Stdio};

use e2e::{target_dir, workspace_root};
use serde_json::json;

use crate::install::{self, command};
use crate::{step, Result};

const USAGE: &str = "usage: cargo xtask bench size [--no-build]
  --no-build     use the wasm trunk's last release build left in target/";

/// Groups, each with the crates it holds, in the order they are tried.
const OURS: [(&str, &[&str]); 5] = [
    ("ours: the app (views, store, transport)", &["plugboard"]),
    ("ours: devices (adapters, model)", &["devices"]),
    ("ours: connections (supervisor, profiles)", &["connections"]),
    ("ours: mqtt-client (session engine)", &["mqtt_client"]),
    ("ours: mqtt-codec", &["mqtt_codec"]),
];
const OTHERS: [(&str, &[&str]); 3] = [
    (
        "Leptos (tachys, reactive_graph, …), incl. our views' monomorphised code",
        &[
            "tachys",
            "reactive_graph",
            "leptos",
            "leptos_dom",
            "leptos_macro",
            "any_spawner",
            "or_poisoned",
            "throw_error",
            "send_wrapper",
            "oco_ref",
            "slotmap",
            "guardian",
            "futures",
            "futures_util",
            "futures_channel",
            "futures_executor",
            "wasm_streams",
            "async_lock",
            "event_listener",
        ],
    ),
    (
        "serde, serde_json",
        &["serde", "serde_core", "serde_json", "itoa", "ryu", "zmij"],
    ),
    (
        "wasm-bindgen, js-sys, web-sys, gloo",
        &[
            "wasm_bindgen",
            "js_sys",
            "web_sys",
            "wasm_bindgen_futures",
            "gloo_timers",
            "console_error_panic_hook",
        ],
    ),
];
const STD: &str = "Rust's standard library (core, alloc, collections, allocator)";
const UNNAMED: &str = "unnamed (glue, shims)";

/// Runs the command: `args` are what follows `bench size`.
pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let mut build = true;
    for arg in args {
        match arg.as_str() {
            "--no-build" => build = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    install::everything()?;
    if build {
        install::build_app(true)?;
    }
    let raw = target_dir().join("wasm32-unknown-unknown/release/plugboard.wasm");
    if !raw.exists() {
        return Err(format!("{} is missing: run without --no-build", raw.display()).into());
    }
    let out = target_dir().join("bench");
    std::fs::create_dir_all(&out)?;
    // As trunk does: wasm-bindgen, then wasm-opt -Oz; both keeping names.
    let bound = out.join("size");
    install::run(
        command("wasm-bindgen")
            .args([
                "--target",
                "web",
                "--keep-debug",
                "--no-typescript",
                "--out-dir",
            ])
            .arg(&bound)
            .arg(&raw),
    )?;
    let named = out.join("plugboard-named.wasm");
    step("wasm-opt -Oz -g on the bound module (names kept; ~15 s)");
    install::run(
        command("wasm-opt")
            .args(["-Oz", "-g", "--all-features"])
            .arg(bound.join("plugboard_bg.wasm"))
            .arg("-o")
            .arg(&named)
            .current_dir(workspace_root()),
    )?;
    let module = Module::parse(&std::fs::read(&named)?)?;
    let mut groups: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for (name, body) in &module.functions {
        groups
            .entry(group_of(name))
            .or_default()
            .extend_from_slice(body);
    }
    let code: Vec<u8> = module
        .functions
        .iter()
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    let whole_gz = gzip(&code)?;
    let mut rows = Vec::new();
    for (group, bytes) in &groups {
        rows.push((*group, bytes.len(), gzip(bytes)?));
    }
    let apart: usize = rows.iter().map(|r| r.2).sum();
    let scale = whole_gz as f64 / apart.max(1) as f64;
    rows.sort_by_key(|r| std::cmp::Reverse(r.2));

    let dist_wasm = std::fs::read_dir(workspace_root().join("dist"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"));
    let shipped_gz = match &dist_wasm {
        Some(p) => Some(gzip(&std::fs::read(p)?)?),
        None => None,
    };
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## What the wasm is made of\n\n`cargo xtask bench size`: trunk's release build's \
         linked module through wasm-bindgen and `wasm-opt -Oz -g` (names kept), each function counted under the \
         crates its name mentions (ours first, then other named crates, then the standard \
         library), each group gzip -9'd on its own and scaled to the code section gzip'd whole \
         ({}). The shipped `dist/` wasm: {}.\n",
        kb(whole_gz),
        shipped_gz.map_or("—".into(), kb),
    );
    let _ = writeln!(
        md,
        "| part | bytes | gzip -9 (scaled) | share |\n|---|---:|---:|---:|"
    );
    let total_raw: usize = rows.iter().map(|r| r.1).sum();
    for (group, raw, gz) in &rows {
        let _ = writeln!(
            md,
            "| {group} | {} | {} | {:.0} % |",
            kb(*raw),
            kb((*gz as f64 * scale) as usize),
            *gz as f64 * scale / whole_gz as f64 * 100.0
        );
    }
    let _ = writeln!(
        md,
        "| **code, all** | {} | {} | |\n| data (strings, tables) | {} | {} | |\n| other \
         sections (types, imports, exports, …; names removed when shipped) | {} | | |",
        kb(total_raw),
        kb(whole_gz),
        kb(module.data.len()),
        kb(gzip(&module.data)?),
        kb(module.other),
    );
    let json = json!({
        "code_gzip": whole_gz,
        "shipped_wasm_gzip": shipped_gz,
        "data_bytes": module.data.len(),
        "groups": rows.iter().map(|(g, raw, gz)| json!({
            "group": g, "bytes": raw, "gzip_scaled": (*gz as f64 * scale) as usize,
        })).collect::<Vec<_>>(),
    });
    std::fs::write(out.join("size.md"), &md)?;
    std::fs::write(
        out.join("size.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;
    println!("\n{md}");
    step(&format!("wrote {}", out.join("size.md").display()));
    Ok(ExitCode::SUCCESS)
}

/// The group a function belongs to, by the crates its name mentions.
fn group_of(mangled: &str) -> &'static str {
    let name = format!("{:#}", rustc_demangle::demangle(mangled));
    let crates: Vec<&str> = name
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .flat_map(|path| path.split("::").next())
        .filter(|c| !c.is_empty())
        .collect();
    let find = |table: &[(&'static str, &[&str])]| {
        crates.iter().find_map(|c| {
            table
                .iter()
                .find(|(_, members)| members.contains(c))
                .map(|(g, _)| *g)
        })
    };
    if let Some(g) = find(&OURS).or_else(|| find(&OTHERS)) {
        return g;
    }
    const STD_CRATES: [&str; 8] = [
        "core",
        "alloc",
        "std",
        "dlmalloc",
        "hashbrown",
        "indexmap",
        "compiler_builtins",
        "bytes",
    ];
    if crates.iter().any(|c| STD_CRATES.contains(c)) || name.starts_with('<') {
        return STD;
    }
    UNNAMED
}

/// The parts of a wasm module this needs: each function's name and body,
/// the data segments' bytes, and the size of everything else.
struct Module {
    functions: Vec<(String, Vec<u8>)>,
    data: Vec<u8>,
    other: usize,
}

impl Module {
    fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.get(..4) != Some(b"\0asm") {
            return Err("not a wasm module".into());
        }
        let mut r = Reader { bytes, at: 8 };
        let (mut imported, mut bodies, mut names) = (0u32, Vec::new(), BTreeMap::new());
        let (mut data, mut other) = (Vec::new(), 0);
        while r.at < bytes.len() {
            let id = r.byte()?;
            let size = r.leb()? as usize;
            let section = r.take(size)?;
            let mut s = Reader {
                bytes: section,
                at: 0,
            };
            match id {
                2 => {
                    for _ in 0..s.leb()? {
                        let module = s.leb()? as usize;
                        s.take(module)?;
                        let field = s.leb()? as usize;
                        s.take(field)?;
                        match s.byte()? {
                            // Compact imports (what wasm-bindgen now
                            // writes): one module, then its fields, each
                            // with its own kind…
                            0x7f if field == 0 => {
                                for _ in 0..s.leb()? {
                                    let field = s.leb()? as usize;
                                    s.take(field)?;
                                    let kind = s.byte()?;
                                    imported += s.import(kind)?;
                                }
                            }
                            // …or all of one kind.
                            0x7e if field == 0 => {
                                let kind = s.byte()?;
                                let mut one = s.import(kind)?;
                                let count = s.leb()?;
                                for _ in 0..count {
                                    let field = s.leb()? as usize;
                                    s.take(field)?;
                                }
                                one *= count;
                                imported += one;
                            }
                            kind => imported += s.import(kind)?,
                        }
                    }
                    other += size;
                }
                10 => {
                    for _ in 0..s.leb()? {
                        let len = s.leb()? as usize;
                        bodies.push(s.take(len)?.to_vec());
                    }
                }
                11 => data.extend_from_slice(section),
                0 => {
                    let len = s.leb()? as usize;
                    if s.take(len)? == b"name" {
                        while s.at < section.len() {
                            let sub = s.byte()?;
                            let len = s.leb()? as usize;
                            let mut n = Reader {
                                bytes: s.take(len)?,
                                at: 0,
                            };
                            if sub == 1 {
                                for _ in 0..n.leb()? {
                                    let index = n.leb()?;
                                    let len = n.leb()? as usize;
                                    let name = String::from_utf8_lossy(n.take(len)?).into_owned();
                                    names.insert(index, name);
                                }
                            }
                        }
                    } else {
                        other += size;
                    }
                }
                _ => other += size,
            }
        }
        let functions = bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| {
                let name = names.remove(&(imported + i as u32)).unwrap_or_default();
                (name, body)
            })
            .collect();
        Ok(Self {
            functions,
            data,
            other,
        })
    }
}

/// A cursor over a wasm module's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.at).ok_or("the module ends early")?;
        self.at += 1;
        Ok(b)
    }

    fn leb(&mut self) -> Result<u32> {
        let (mut value, mut shift) = (0u32, 0);
        loop {
            let b = self.byte()?;
            if shift > 28 {
                return Err("a LEB128 number over 32 bits".into());
            }
            value |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// Skips an import's description of `kind`; 1 if it imports a
    /// function (they come before the module's own in the index space).
    fn import(&mut self, kind: u8) -> Result<u32> {
        match kind {
            0 => {
                self.leb()?;
                return Ok(1);
            }
            1 | 2 => {
                if kind == 1 {
                    self.byte()?;
                }
                let flags = self.leb()?;
                self.leb()?;
                if flags & 1 == 1 {
                    self.leb()?;
                }
            }
            3 => {
                self.byte()?;
                self.byte()?;
            }
            4 => {
                self.byte()?;
                self.leb()?;
            }
            kind => return Err(format!("import kind {kind}").into()),
        }
        Ok(0)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or("a section runs past the module's end")?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
}

/// The `gzip -9` size of `bytes`.
pub(super) fn gzip(bytes: &[u8]) -> Result<usize> {
    let mut child = command("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("gzip: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("gzip's stdin")?;
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output()?;
    writer.join().map_err(|_| "the gzip writer panicked")??;
    if !output.status.success() {
        return Err("gzip failed".into());
    }
    Ok(output.stdout.len())
}

/// Bytes as kilobytes with one decimal.
pub(super) fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::{group_of, OTHERS, OURS, STD, UNNAMED};

    #[test]
    fn functions_go_to_our_crates_first_then_to_named_ones() {
        // Legacy mangling, as rustc emits it: `drop_in_place::<devices::Device>`.
        let drop = "_ZN4core3ptr49drop_in_place$LT$devices..model..Device$GT$17h0123456789abcdefE";
        assert_eq!(group_of(drop), OURS[1].0);
        let leptos = "_ZN6tachys4view6tuples5build17h0123456789abcdefE";
        assert_eq!(group_of(leptos), OTHERS[0].0);
        let sort = "_ZN4core5slice4sort8unstable9quicksort17h0123456789abcdefE";
        assert_eq!(group_of(sort), STD);
        assert_eq!(group_of("__wbindgen_describe_x"), UNNAMED);
        assert_eq!(group_of(""), UNNAMED);
    }
}
