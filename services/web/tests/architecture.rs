//! The shape of the code, held against its source: the web crate's domain layer knows no HTTP,
//! and in no crate of the workspace does a module reach back into a module that reaches it (no
//! cycle of files). Reads the source as
//! text, as a newcomer would: a path `crate::a::b::Item` or `super::b::Item` is an arrow from
//! the file that writes it to the file that holds module `a::b`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The `src` folder of every crate of the workspace (`services/*/src`).
fn workspace_sources() -> Vec<PathBuf> {
    let services = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&services)
        .expect("read services")
        .map(|e| e.expect("entry").path().join("src"))
        .filter(|p| p.join("lib.rs").is_file())
        .collect();
    out.sort();
    out
}

/// Every `.rs` file under `src` with its module path (`["voting", "repo"]`; `[]` for lib.rs).
fn modules(src: &Path) -> BTreeMap<Vec<String>, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, String>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                let mut next = prefix.to_vec();
                next.push(name);
                walk(&path, &next, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module = prefix.to_vec();
                if name != "mod" && name != "lib" {
                    module.push(name);
                }
                let text = std::fs::read_to_string(&path).expect("read file");
                out.insert(module, text);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, &[], &mut out);
    out
}

/// The text of a file without its `#[cfg(test)]` tail and without comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths a file's code names: `crate::…` absolutely, `super::…`, `self::…` and a
/// child module's name (`repo::tally` in `voting/mod.rs`) relatively, and each name of a
/// braced `use` list (`crate::a::{b, c::D}`).
fn references(module: &[String], text: &str, files: &BTreeSet<Vec<String>>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let code = code(text);
    let bytes: Vec<char> = code.chars().collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut i = 0;
    while i < bytes.len() {
        if i > 0 && word(bytes[i - 1]) {
            i += 1;
            continue;
        }
        let rest: String = bytes[i..].iter().take_while(|c| word(**c)).collect();
        if rest.is_empty() {
            i += 1;
            continue;
        }
        let len = rest.chars().count();
        let mut parts: Vec<&str> = rest.split("::").filter(|p| !p.is_empty()).collect();
        let base: Option<Vec<String>> = match parts.first() {
            Some(&"crate") => {
                parts.remove(0);
                Some(Vec::new())
            }
            Some(&"super") => {
                let mut base = module.to_vec();
                while parts.first() == Some(&"super") {
                    parts.remove(0);
                    base.pop();
                }
                Some(base)
            }
            Some(&"self") => {
                parts.remove(0);
                Some(module.to_vec())
            }
            Some(first) if rest.contains("::") => {
                let mut child = module.to_vec();
                child.push((*first).to_owned());
                files.contains(&child).then(|| module.to_vec())
            }
            _ => None,
        };
        if let Some(base) = base {
            let mut path = base.clone();
            path.extend(parts.iter().map(|p| p.to_string()));
            out.push(path.clone());
            // A braced list after the path: each member is a path below it.
            let after: String = bytes[i + len..].iter().collect();
            if rest.ends_with("::") && after.starts_with('{') {
                let inner = after[1..].split('}').next().unwrap_or_default();
                for member in inner.split(',') {
                    let member = member.trim().split(" as ").next().unwrap_or_default();
                    if member.is_empty() || member == "self" {
                        continue;
                    }
                    let mut p = path.clone();
                    p.extend(member.split("::").map(str::to_owned));
                    out.push(p);
                }
            }
        }
        i += len;
    }
    out
}

/// The file a path lands in: the longest prefix that is a file's module.
fn resolve(path: &[String], files: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| files.contains(p))
}

fn arrows(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules = modules(src);
    let files: BTreeSet<Vec<String>> = modules.keys().cloned().collect();
    let mut arrows: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, text) in &modules {
        let targets = arrows.entry(module.clone()).or_default();
        for path in references(module, text, &files) {
            if let Some(target) = resolve(&path, &files)
                && &target != module
                // lib.rs merges the routers: it is the top, never the target of a cycle.
                && !target.is_empty()
            {
                targets.insert(target);
            }
        }
    }
    arrows
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

#[test]
fn no_module_of_any_crate_reaches_back_into_one_that_reaches_it() {
    let sources = workspace_sources();
    assert!(
        sources.len() >= 5,
        "the crates of services/ are found: {sources:?}"
    );
    let cycles: Vec<(PathBuf, Vec<Vec<String>>)> = sources
        .into_iter()
        .map(|src| {
            let found = cycles(&arrows(&src));
            (src, found)
        })
        .filter(|(_, found)| !found.is_empty())
        .collect();
    assert!(
        cycles.is_empty(),
        "modules that reach each other (move what both need into a module below them): {cycles:#?}"
    );
}

/// The sets of modules that reach each other (Tarjan's strongly connected components with two
/// or more files).
fn cycles(arrows: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    // Tarjan's strongly connected components; any with two or more files is a cycle.
    struct Walk<'a> {
        arrows: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, usize>,
        low: BTreeMap<Vec<String>, usize>,
        stack: Vec<Vec<String>>,
        on_stack: BTreeSet<Vec<String>>,
        cycles: Vec<Vec<String>>,
    }
    impl Walk<'_> {
        fn visit(&mut self, v: &Vec<String>) {
            let n = self.index.len();
            self.index.insert(v.clone(), n);
            self.low.insert(v.clone(), n);
            self.stack.push(v.clone());
            self.on_stack.insert(v.clone());
            for w in self.arrows.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v.clone(), low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v.clone(), low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(&w);
                    let done = &w == v;
                    component.push(name(&w));
                    if done {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.cycles.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        arrows,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        cycles: Vec::new(),
    };
    for v in arrows.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.cycles
}

#[test]
fn the_domain_layer_knows_nothing_of_http() {
    let http = [
        "axum",
        "askama",
        "Template",
        "Ctx",
        "PageError",
        "IntoResponse",
    ];
    let mut found = Vec::new();
    let modules = modules(&src());
    let files: BTreeSet<Vec<String>> = modules.keys().cloned().collect();
    for (module, text) in &modules {
        if module.first().map(String::as_str) != Some("domain") {
            continue;
        }
        let code = code(text);
        for word in http {
            if code
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|w| w == word)
            {
                found.push(format!("{} names {word}", name(module)));
            }
        }
        for path in references(module, text, &files) {
            if path.first().is_some_and(|top| top != "domain") {
                found.push(format!(
                    "{} reaches up into crate::{}",
                    name(module),
                    path.join("::")
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the domain layer reaches HTTP: {found:#?}"
    );
}

#[test]
fn the_checker_sees_an_arrow_and_a_cycle_where_there_is_one() {
    let files: BTreeSet<Vec<String>> = [
        vec![],
        vec!["a".to_owned()],
        vec!["a".to_owned(), "b".to_owned()],
    ]
    .into_iter()
    .collect();
    let refs = references(
        &["a".to_owned(), "b".to_owned()],
        "use super::{Thing, b::Other};\nuse crate::a::b;",
        &files,
    );
    let targets: BTreeSet<_> = refs.iter().filter_map(|p| resolve(p, &files)).collect();
    assert!(targets.contains(&vec!["a".to_owned()]), "{refs:?}");
    assert!(
        targets.contains(&vec!["a".to_owned(), "b".to_owned()]),
        "{refs:?}"
    );
}
